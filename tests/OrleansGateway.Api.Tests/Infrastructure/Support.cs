namespace OrleansGateway.Api.Tests.Infrastructure;

internal static class Yaml
{
    public static string TcpMapping(string name, int port, string service, string? extra = null) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: {name}
        spec:
          port: {port}
          service: {service}
        {extra}
        """;
}
