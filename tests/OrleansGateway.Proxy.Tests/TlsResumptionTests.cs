using System.Diagnostics;
using System.Runtime.CompilerServices;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// TLS session resumption on a terminating listener, with a real OpenSSL client (`openssl s_client`): a client that
/// offers the ticket (TLS 1.3) or session (TLS 1.2) of an earlier connection resumes instead of a full handshake
/// (docs/tls.md, "Session resumption"). Skipped with the reason where the openssl command is missing.
/// </summary>
public sealed class TlsResumptionTests
{
    [OpenSslTheory]
    [InlineData("-tls1_3", "TLSv1.3")]
    [InlineData("-tls1_2", "TLSv1.2")]
    public async Task A_client_that_offers_its_session_resumes(string version, string expected)
    {
        var pings = 0;
        await using var upstream = new TestUpstream(async s =>
        {
            // Counts the clients whose "ping" came through: their handshake is over.
            await Net.ReadExactlyAsync(s, 5);
            Interlocked.Increment(ref pings);
            await Net.ReadToEndAsync(s);
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [TlsKit.Sni("resume.test", "cert", Route(Upstream(upstream.EndPoint)))])),
            TlsKit.Provider(("cert", TlsKit.Server("resume.test"))));
        var endPoint = proxy.EndPointOf(listener);
        var session = Path.Combine(Path.GetTempPath(), $"ogw-session-{Guid.NewGuid():N}.pem");
        try
        {
            // The first client saves its session (written when the server's ticket or session arrives).
            var first = await OpenSsl.ClientAsync(endPoint.ToString(), "resume.test", version, $"-sess_out {session}",
                () => Volatile.Read(ref pings) == 1 && File.Exists(session) && File.ReadAllText(session).Contains("BEGIN SSL SESSION", StringComparison.Ordinal));
            Assert.Contains($"New, {expected}", first);

            var second = await OpenSsl.ClientAsync(endPoint.ToString(), "resume.test", version, $"-sess_in {session}", () => Volatile.Read(ref pings) == 2);
            Assert.Contains($"Reused, {expected}", second);
        }
        finally
        {
            File.Delete(session);
        }
    }

    /// <summary>A theory that needs the openssl command: reported skipped, with the reason, where it is missing.</summary>
    public sealed class OpenSslTheoryAttribute : TheoryAttribute
    {
        public OpenSslTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
            : base(sourceFilePath, sourceLineNumber)
        {
            if (OpenSsl.Unavailable is { } why)
            {
                Skip = why;
            }
        }
    }

    private static class OpenSsl
    {
        public static readonly string? Unavailable = Check();

        private static string? Check()
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("openssl", "version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
                p.WaitForExit(10_000);
                return p.ExitCode == 0 ? null : $"`openssl version` exited with {p.ExitCode}";
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"the openssl command is not installed ({e.Message}); apt-get install openssl";
            }
        }

        /// <summary>
        /// One connection that sends "ping"; s_client's stdin stays open until <paramref name="done"/> (its ping reached
        /// the upstream, and the session file is written when one is saved), then closes, and s_client prints its summary.
        /// </summary>
        public static async Task<string> ClientAsync(string connect, string sni, string version, string session, Func<bool> done)
        {
            using var p = Process.Start(new ProcessStartInfo("openssl", $"s_client -connect {connect} -servername {sni} {version} {session}")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            await p.StandardInput.WriteAsync("ping\n");
            await p.StandardInput.FlushAsync();
            await Eventually.Until(done, $"openssl s_client {session} through the handshake");
            p.StandardInput.Close();
            await p.WaitForExitAsync().WaitAsync(Net.Deadline);
            return await output + await error;
        }
    }
}
