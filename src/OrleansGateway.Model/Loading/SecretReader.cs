using System.Text;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Kubernetes <c>v1 Secret</c>: <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> from <c>data</c> (base64) and/or
/// <c>stringData</c> (plain, wins for the same key as in Kubernetes). Other keys are none of our business.
/// </summary>
internal static class SecretReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var type = "Opaque";
        string?[] fromData = new string?[3], fromString = new string?[3];
        foreach (var (keyNode, value) in header.Root.Children)
        {
            switch (FieldReader.Key(keyNode))
            {
                case "type":
                    type = reader.String(value, "type") ?? type;
                    break;
                case "data":
                    ReadValues(reader, value, "data", fromData, base64: true);
                    break;
                case "stringData":
                    ReadValues(reader, value, "stringData", fromString, base64: false);
                    break;
            }
        }

        return header.Finish(reader, () => new SecretResource
        {
            Name = header.Name,
            Type = type,
            TlsCrt = fromString[0] ?? fromData[0],
            TlsKey = fromString[1] ?? fromData[1],
            CaCrt = fromString[2] ?? fromData[2],
        }, []);
    }

    private static int Slot(string key) => key switch
    {
        "tls.crt" => 0,
        "tls.key" => 1,
        "ca.crt" => 2,
        _ => -1,
    };

    private static void ReadValues(FieldReader reader, YamlNode node, string field, string?[] slots, bool base64)
    {
        if (reader.Mapping(node, field) is not { } mapping)
        {
            return;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = FieldReader.Key(keyNode);
            var slot = Slot(key);
            if (slot < 0)
            {
                continue;
            }

            var path = $"{field}.{key}";
            var text = reader.String(value, path);
            slots[slot] = text is null || !base64 ? text : Decode(reader, value, path, text);
        }
    }

    private static string? Decode(FieldReader reader, YamlNode at, string field, string text)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            reader.Error(DiagnosticCodes.FieldEncoding, at, field,
                "expected base64 (data values are base64-encoded; put plain PEM text under stringData instead), found text that is not valid base64");
            return null;
        }

        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            reader.Error(DiagnosticCodes.FieldEncoding, at, field,
                "expected base64-encoded PEM text, found binary data (DER?); convert it to PEM (openssl x509 -inform der)");
            return null;
        }
    }
}
