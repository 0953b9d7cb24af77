using System.Security.Authentication;
using OrleansGateway.Proxy.Tls;
using static OrleansGateway.Proxy.Tests.Tls.ClientHelloSamples;

namespace OrleansGateway.Proxy.Tests.Tls;

/// <summary>
/// Random and mutated inputs (seeded, so a failure reproduces): the parser must never throw, must only report what
/// the input holds, and must keep every final decision when more bytes arrive.
/// </summary>
public sealed class ClientHelloParserFuzzTests
{
    private const int Iterations = 6000;

    // Offsets of length fields in a single-record hello with a 32-byte session id.
    private static readonly int[] LengthFields = [3, 4, 6, 7, 8, 43, 76, 77, 82, 83, 84, 85, 86, 87, 88, 89, 90];

    [Fact]
    public async Task Random_and_mutated_inputs_never_throw_and_stay_within_bounds()
    {
        byte[][] seeds =
        [
            await CaptureAsync("fuzz.example.com", SslProtocols.Tls13, "h2", "http/1.1"),
            await CaptureAsync("fuzz.example.com", SslProtocols.Tls12),
            await CaptureAsync("", SslProtocols.Tls12 | SslProtocols.Tls13),
            Build(Sni("a.example.com"), Alpn("h2", "x")),
        ];
        var random = new Random(20261126);
        var counts = new Dictionary<ClientHelloStatus, int>();

        for (var i = 0; i < Iterations; i++)
        {
            var input = Mutate(random, seeds[random.Next(seeds.Length)], i % 7);

            var status = ClientHelloParser.TryParse(input, out var info);

            counts[status] = counts.GetValueOrDefault(status) + 1;
            AssertWithinBounds(input, status, info);
            AssertFinal(input, random.Next(input.Length + 1), status, info);
        }

        // The mutations must reach every outcome, or the test is not exercising the parser.
        Assert.All(Enum.GetValues<ClientHelloStatus>(), s => Assert.True(counts.GetValueOrDefault(s) > 20, $"{s}: {counts.GetValueOrDefault(s)}"));
    }

    private static byte[] Mutate(Random random, byte[] seed, int kind)
    {
        switch (kind)
        {
            case 0:
                {
                    // Pure noise, half of it behind a plausible record header so that it reaches the parser.
                    var noise = new byte[random.Next(0, random.Next(2) == 0 ? 600 : 20_000)];
                    random.NextBytes(noise);
                    if (noise.Length >= 3 && random.Next(2) == 0)
                    {
                        noise[0] = 0x16;
                        noise[1] = 0x03;
                    }

                    return noise;
                }

            case 1:
                {
                    var flipped = (byte[])seed.Clone();
                    for (var n = random.Next(1, 9); n > 0; n--)
                    {
                        var at = random.Next(flipped.Length);
                        flipped[at] ^= (byte)(1 << random.Next(8));
                    }

                    return flipped;
                }

            case 2:
                return seed[..random.Next(seed.Length)];

            case 3:
                {
                    var corrupted = (byte[])seed.Clone();
                    var at = LengthFields[random.Next(LengthFields.Length)];
                    corrupted[at] = (byte)(random.Next(4) switch { 0 => 0, 1 => 0xff, 2 => corrupted[at] + 1, _ => corrupted[at] - 1 });
                    return corrupted;
                }

            case 4:
                {
                    // Re-fragmented, then a random byte of the result (often a record header) overwritten.
                    var messageLength = seed.Length - 5;
                    var fragmented = Refragment(seed, random.Next(1, messageLength), messageLength - 1);
                    fragmented[random.Next(fragmented.Length)] = (byte)random.Next(256);
                    return fragmented;
                }

            case 5:
                {
                    // Bytes inserted or removed in the middle: every length after that point is off by some bytes.
                    var at = random.Next(seed.Length);
                    var extra = new byte[random.Next(1, 6)];
                    random.NextBytes(extra);
                    return random.Next(2) == 0 ? [.. seed[..at], .. extra, .. seed[at..]] : [.. seed[..at], .. seed[Math.Min(seed.Length, at + extra.Length)..]];
                }

            default:
                {
                    // A valid hello followed by garbage: always Found, whatever follows.
                    var tail = new byte[random.Next(1, 100)];
                    random.NextBytes(tail);
                    return [.. seed, .. tail];
                }
        }
    }

    private static void AssertWithinBounds(byte[] input, ClientHelloStatus status, ClientHelloInfo? info)
    {
        Assert.True(Enum.IsDefined(status));
        if (status != ClientHelloStatus.Found)
        {
            Assert.Null(info);
            return;
        }

        Assert.NotNull(info);
        // Record header, handshake header and the smallest body (version, random, ids, one suite, one compression).
        Assert.True(input.Length >= 5 + 4 + 2 + 32 + 1 + 4 + 2, $"Found in {input.Length} bytes");
        Assert.True((info.ServerName?.Length ?? 0) <= Math.Min(253, input.Length));
        Assert.True(info.AlpnProtocols.Sum(p => p.Length + 1) <= input.Length);
        Assert.All(info.AlpnProtocols, p => Assert.NotEmpty(p));
    }

    /// <summary>A decision on a prefix (other than NeedMoreData) must be the decision on the whole input.</summary>
    private static void AssertFinal(byte[] input, int prefixLength, ClientHelloStatus status, ClientHelloInfo? info)
    {
        var prefixStatus = ClientHelloParser.TryParse(input.AsSpan(0, prefixLength), out var prefixInfo);
        if (prefixStatus == ClientHelloStatus.NeedMoreData)
        {
            return;
        }

        Assert.Equal(prefixStatus, status);
        if (status == ClientHelloStatus.Found)
        {
            Assert.Equal(prefixInfo!.ServerName, info!.ServerName);
            Assert.Equal<string>(prefixInfo.AlpnProtocols, info.AlpnProtocols);
            Assert.Equal(prefixInfo.LegacyVersion, info.LegacyVersion);
        }
    }
}
