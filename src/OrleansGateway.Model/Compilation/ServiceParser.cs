using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// A <c>service</c> string split into its parts (docs/tcpmapping-semantics.md, "Service"): no namespace qualification and no default
/// port yet (both depend on the resolver and on TLS origination).
/// </summary>
/// <param name="Scheme"><c>http</c>, <c>https</c> or null (none written, or an unknown one that was dropped).</param>
/// <param name="Host">Lower-cased; IPv6 without brackets and with its zone unescaped (<c>fe80::1%eth0</c>).</param>
/// <param name="Port">The port as written, null when none.</param>
internal sealed record ParsedService(string? Scheme, string Host, int? Port, bool IsIpLiteral, IReadOnlyList<string> Warnings)
{
    /// <summary>The host as it appears in a service string: IPv6 re-bracketed with the zone escaped as <c>%25</c>.</summary>
    public static string HostText(string host) => host.Contains(':') ? "[" + host.Replace("%", "%25", StringComparison.Ordinal) + "]" : host;
}

/// <summary>Parses <c>[scheme://]host[:port]</c>. Errors discard the mapping; oddities the gateway can live with are warnings.</summary>
internal static partial class ServiceParser
{
    /// <summary>Returns the parsed service, or null with <paramref name="error"/> naming the problem.</summary>
    public static ParsedService? Parse(string service, out string? error)
    {
        error = null;
        var warnings = new List<string>();
        var text = service.Trim();
        if (text.Length == 0)
        {
            error = "service is empty; write host[:port], e.g. 'upstream:22'";
            return null;
        }

        string? scheme = null;
        var rest = text;
        var schemeEnd = SchemeLength(text);
        if (schemeEnd > 0)
        {
            var written = text[..schemeEnd];
            rest = text[(schemeEnd + 3)..];
            scheme = written.ToLowerInvariant();
            if (scheme is not ("http" or "https"))
            {
                warnings.Add($"service '{service}' has unknown scheme '{written}'; it is dropped and the upstream is dialled in cleartext " +
                    "(only https:// originates TLS; write host:port without a scheme)");
                scheme = null;
            }
        }
        else if (text.StartsWith("//", StringComparison.Ordinal))
        {
            rest = text[2..];
        }

        var end = rest.IndexOfAny(['/', '?', '#']);
        if (end >= 0)
        {
            warnings.Add($"service '{service}' has a path or query ('{rest[end..]}'); it is ignored, a TCP upstream is only a host and a port");
            rest = rest[..end];
        }

        if (rest.Contains('@'))
        {
            error = $"service '{service}' contains user information ('@'); write [scheme://]host[:port]";
            return null;
        }

        string host;
        string? portText = null;
        bool isIp;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']');
            if (close < 0)
            {
                error = $"service '{service}' has '[' without ']'; write an IPv6 address as [addr] or [addr]:port";
                return null;
            }

            var after = rest[(close + 1)..];
            if (after.Length > 0 && after[0] != ':')
            {
                error = $"service '{service}' has '{after}' after ']'; only ':port' may follow an IPv6 address";
                return null;
            }

            portText = after.Length > 0 ? after[1..] : null;
            host = UnescapeZone(rest[1..close], service, out error)!;
            if (error is not null)
            {
                return null;
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"service '{service}' has '[{rest[1..close]}]', which is not an IPv6 address";
                return null;
            }

            isIp = true;
        }
        else
        {
            var colons = rest.AsSpan().Count(':');
            if (colons > 1)
            {
                error = IPAddress.TryParse(rest, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6
                    ? $"service '{service}' is an IPv6 address without brackets; write it as [{rest}] or [{rest}]:port"
                    : $"service '{service}' has too many ':'; write host:port with one port";
                return null;
            }

            var colon = rest.IndexOf(':');
            host = colon < 0 ? rest : rest[..colon];
            portText = colon < 0 ? null : rest[(colon + 1)..];
            isIp = IsIpv4Literal(host);
            if (host.Length > 0 && !isIp && !HostPattern().IsMatch(host))
            {
                error = $"service '{service}' has host '{host}', which is not a DNS name (letters, digits, '-', '_' and '.')";
                return null;
            }
        }

        if (host.Length == 0)
        {
            error = $"service '{service}' has no host; write host[:port], e.g. 'upstream:22'";
            return null;
        }

        int? port = null;
        if (portText is not null)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                error = $"service '{service}' has port '{portText}'; a port is a number from 1 to 65535";
                return null;
            }

            port = p;
        }

        return new ParsedService(scheme, LowerExceptZone(host), port, isIp, warnings);
    }

    /// <summary>Length of a leading <c>scheme</c> followed by <c>://</c> (a run of <c>[A-Za-z0-9+.-]</c>, as Emissary), else 0.</summary>
    private static int SchemeLength(string text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '+' or '.' or '-'))
        {
            i++;
        }

        return i > 0 && text.AsSpan(i).StartsWith("://", StringComparison.Ordinal) ? i : 0;
    }

    /// <summary>A dotted quad only: <see cref="IPAddress.TryParse(string, out IPAddress)"/> would also take <c>1</c> or <c>1.2</c>.</summary>
    public static bool IsIpv4Literal(string host)
    {
        var parts = host.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }

    // Interface names (the IPv6 zone) are case-sensitive; only the address is lower-cased.
    private static string LowerExceptZone(string host)
    {
        var pct = host.IndexOf('%');
        return pct < 0 ? host.ToLowerInvariant() : host[..pct].ToLowerInvariant() + host[pct..];
    }

    // Inside brackets a zone must be URL-escaped ("%25eth0", RFC 6874), as Emissary's parsers require.
    private static string? UnescapeZone(string inside, string service, out string? error)
    {
        error = null;
        var pct = inside.IndexOf('%');
        if (pct < 0)
        {
            return inside;
        }

        if (!inside.AsSpan(pct).StartsWith("%25") || inside.Length == pct + 3)
        {
            error = $"service '{service}' has an IPv6 zone written '{inside[pct..]}'; escape '%' as '%25', e.g. [fe80::1%25eth0]";
            return null;
        }

        return inside[..pct] + "%" + inside[(pct + 3)..];
    }

    [GeneratedRegex("^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$")]
    private static partial Regex HostPattern();
}
