using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>An explicit Listener that passed validation.</summary>
internal sealed record ValidListener(ResourceEntry Entry, ImmutableArray<string> Stack)
{
    public ListenerResource Resource => (ListenerResource)Entry.Resource;
    public bool HasTls => Stack.Contains("TLS");
    public bool HasHttp => Stack.Contains("HTTP");

    /// <summary>PROXY anywhere in the stack, as Emissary reads it: every connection starts with a PROXY protocol header.</summary>
    public bool HasProxy => Stack.Contains("PROXY");
}

/// <summary>
/// Explicit Listener resources (docs/tcpmapping-semantics.md, row 29). Listeners have no address field: they bind the
/// gateway's bind address. An unusable Listener is Discarded and its port falls back to an automatic Listener.
/// </summary>
internal static class ListenerCatalog
{
    private static readonly Dictionary<string, ImmutableArray<string>> Shorthands = new(StringComparer.Ordinal)
    {
        ["HTTP"] = ["HTTP", "TCP"],
        ["HTTPS"] = ["TLS", "HTTP", "TCP"],
        ["HTTPPROXY"] = ["PROXY", "HTTP", "TCP"],
        ["HTTPSPROXY"] = ["TLS", "PROXY", "HTTP", "TCP"],
        ["TCP"] = ["TCP"],
        ["TLS"] = ["TLS", "TCP"],
    };

    private static readonly HashSet<string> StackElements = ["HTTP", "TLS", "PROXY", "TCP", "UDP"];
    private static readonly HashSet<string> SecurityModels = ["XFP", "SECURE", "INSECURE"];

    /// <summary>Valid Listeners by port (all bind the same address); the first by (namespace, name) keeps a port.</summary>
    public static Dictionary<int, ValidListener> Build(IEnumerable<ResourceEntry> listeners)
    {
        var byPort = new Dictionary<int, ValidListener>();
        foreach (var entry in listeners)
        {
            var listener = (ListenerResource)entry.Resource;
            var stack = Validate(entry, listener);
            if (stack is null)
            {
                continue;
            }

            if (byPort.TryGetValue(listener.Port, out var kept))
            {
                entry.Discard(DiagnosticCodes.ListenerDuplicate, $"port {listener.Port} already has {kept.Entry.Ref} (first by namespace and name). " +
                    "Merge them, or move one to another port.", "spec.port", kept.Entry.Ref);
                continue;
            }

            if (stack.Value.Contains("HTTP"))
            {
                entry.Note(DiagnosticCodes.ListenerHttp, $"its protocol stack [{string.Join(", ", stack)}] includes HTTP; OrleansGateway serves no HTTP, only TCPMappings " +
                    "(with host, when the stack has TLS) on this port.", "spec.protocolStack");
            }

            if (!listener.HasHostBinding)
            {
                entry.Warn(DiagnosticCodes.ListenerHostBinding, "Emissary requires hostBinding; it is accepted without one because hostBinding never limits TCPMappings.",
                    "spec.hostBinding");
            }

            byPort[listener.Port] = new ValidListener(entry, stack.Value);
        }

        return byPort;
    }

    private static ImmutableArray<string>? Validate(ResourceEntry entry, ListenerResource listener)
    {
        const string fallback = " The port falls back to an automatic Listener.";
        if (listener.Port is < 1 or > 65535)
        {
            entry.Discard(DiagnosticCodes.ListenerPort, $"port {listener.Port} is not from 1 to 65535.", "spec.port");
            return null;
        }

        ImmutableArray<string> stack;
        if (listener.ProtocolStack is { IsDefaultOrEmpty: false } written)
        {
            if (listener.Protocol is not null)
            {
                entry.Warn(DiagnosticCodes.ListenerProtocol, $"protocol and protocolStack are both set; using protocolStack and ignoring protocol '{listener.Protocol}'.",
                    "spec.protocol");
            }

            stack = [.. written.Select(e => e.Trim().ToUpperInvariant())];
            if (stack.FirstOrDefault(e => !StackElements.Contains(e)) is { } unknown)
            {
                entry.Discard(DiagnosticCodes.ListenerStack, $"protocolStack element '{unknown}' is unknown; use HTTP, TLS, PROXY, TCP." + fallback, "spec.protocolStack");
                return null;
            }
        }
        else if (listener.Protocol is { Length: > 0 } protocol)
        {
            var key = protocol.Trim().ToUpperInvariant();
            if (key == "UDP")
            {
                entry.Discard(DiagnosticCodes.ListenerUdp, "protocol UDP carries no TCPMappings (Emissary uses it only for HTTP/3)." + fallback, "spec.protocol");
                return null;
            }

            if (!Shorthands.TryGetValue(key, out stack))
            {
                entry.Discard(DiagnosticCodes.ListenerProtocol, $"protocol '{protocol}' is unknown; use TCP, TLS, HTTP, HTTPS, HTTPPROXY or HTTPSPROXY." + fallback, "spec.protocol");
                return null;
            }
        }
        else
        {
            entry.Discard(DiagnosticCodes.ListenerProtocol, "one of protocol and protocolStack must be set (e.g. protocol: TCP or protocol: TLS)." + fallback, "spec.protocol");
            return null;
        }

        if (stack[^1] != "TCP")
        {
            entry.Discard(DiagnosticCodes.ListenerStack, $"protocolStack [{string.Join(", ", stack)}] must end with TCP (UDP carries no TCPMappings)." + fallback,
                "spec.protocolStack");
            return null;
        }

        if (string.IsNullOrWhiteSpace(listener.SecurityModel))
        {
            entry.Discard(DiagnosticCodes.ListenerSecurityModel, "securityModel is required (XFP, SECURE or INSECURE)." + fallback, "spec.securityModel");
            return null;
        }

        if (!SecurityModels.Contains(listener.SecurityModel.Trim().ToUpperInvariant()))
        {
            entry.Discard(DiagnosticCodes.ListenerSecurityModel, $"securityModel '{listener.SecurityModel}' is not XFP, SECURE or INSECURE." + fallback,
                "spec.securityModel");
            return null;
        }

        return stack;
    }
}
