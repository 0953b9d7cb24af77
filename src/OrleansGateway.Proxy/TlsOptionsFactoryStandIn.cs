using System.Net.Security;
using OrleansGateway.Model;

namespace OrleansGateway.Proxy.Tls;

/// <summary>
/// Stand-in until the tls branch (issue 3, TLS part) lands with the real factory; this file is deleted then.
/// Every TLS route is reported as not servable, so cleartext works and TLS fails cleanly.
/// </summary>
public static class TlsOptionsFactory
{
    public static SslServerAuthenticationOptions? ForTermination(TlsTermination t, ICertificateProvider certs, out string? error)
    {
        error = "TLS termination is not available in this build";
        return null;
    }

    public static SslClientAuthenticationOptions? ForOrigination(TlsOrigination o, ICertificateProvider certs, out string? error)
    {
        error = "TLS origination is not available in this build";
        return null;
    }
}
