namespace OrleansGateway.Cli.Client;

/// <summary>
/// Exit codes of the client commands (docs/api.md): 0 and 2 as everywhere in <c>ogw</c>, 1 for a refusal, and two
/// codes only a client has, so scripts can tell a wrong key and a gateway that is down from a bad request.
/// </summary>
internal static class ClientExitCodes
{
    public const int Ok = 0;

    /// <summary>The server refused the request (validation, 404, 409, 422), or a file could not be read.</summary>
    public const int Refused = 1;

    public const int Usage = 2;

    /// <summary>401 or 403.</summary>
    public const int Unauthorized = 3;

    /// <summary>The server could not be reached, timed out or failed (5xx).</summary>
    public const int Unavailable = 4;
}
