namespace OrleansGateway.Model;

/// <summary>
/// The pure compiler: <c>(resources, ambassador id) → (plan, statuses, diagnostics)</c>. No I/O, no clock, no
/// randomness, no logging; the same input always gives the same output, whatever the order of the resources.
/// </summary>
public static class GatewayCompiler
{
    public static CompileResult Compile(CompileInput input) => throw new NotImplementedException("compiler");
}
