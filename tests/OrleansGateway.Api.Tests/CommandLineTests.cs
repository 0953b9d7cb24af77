using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>--admin-key-file and OGW_ADMIN_KEY: never printed, too short refused.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_names_the_option_and_never_the_key()
    {
        var output = new StringWriter();
        var exit = await Silo.Program.RunAsync(["--help"], output, TextWriter.Null, CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Contains("--admin-key-file", output.ToString());
        Assert.Contains("OGW_ADMIN_KEY", output.ToString());
    }

    [Fact]
    public async Task A_short_or_unreadable_key_file_is_a_usage_error_that_does_not_quote_the_key()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "short-secret", TestContext.Current.CancellationToken);
            var error = new StringWriter();
            var exit = await Silo.Program.RunAsync(
                ["--storage", "memory", "--admin-key-file", file, "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}"],
                TextWriter.Null,
                error,
                CancellationToken.None);
            Assert.Equal(2, exit);
            Assert.Contains("at least 16", error.ToString());
            Assert.DoesNotContain("short-secret", error.ToString());

            var missing = new StringWriter();
            Assert.Equal(2, await Silo.Program.RunAsync(["--admin-key-file", file + ".absent"], TextWriter.Null, missing, CancellationToken.None));
            Assert.Contains("--admin-key-file", missing.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
