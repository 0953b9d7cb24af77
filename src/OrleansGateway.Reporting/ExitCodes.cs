namespace OrleansGateway.Reporting;

/// <summary>Exit codes of <c>ogw</c> and the gateway host.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Something is Discarded, or a file could not be read.</summary>
    public const int Failed = 1;

    /// <summary>Unknown option, missing or bad argument.</summary>
    public const int Usage = 2;
}
