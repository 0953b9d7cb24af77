using System.Globalization;
using System.Text;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault;

/// <summary>
/// The name rule: which Key Vault certificate holds a tenant's secret (docs/key-vault.md, "The name rule").
/// <c>{prefix}-{tenant}--{namespace}--{name}</c>, each part escaped so that the result is made of lower-case
/// letters, digits and '-' only: <c>a</c>–<c>z</c> and <c>0</c>–<c>9</c> stay, '-' becomes <c>-d</c>, '.' becomes
/// <c>-p</c>, any other character (upper case included: vault names ignore case) becomes <c>-x</c> and two hex
/// digits per UTF-8 byte. An escaped part never contains "--" and never ends with '-', so the parts can be read back
/// unambiguously: the rule is injective, and every name of tenant T starts with <see cref="TenantPrefix"/>(T),
/// which no other tenant's name starts with.
/// </summary>
public static class KeyVaultNames
{
    /// <summary>Key Vault's limit for object names.</summary>
    public const int MaxLength = 127;

    /// <summary>Letters and digits, 1–24: the installation's part of every name.</summary>
    public static bool IsValidPrefix(string prefix) =>
        prefix.Length is >= 1 and <= 24 && prefix.All(char.IsAsciiLetterOrDigit);

    /// <summary>The vault certificate name of <paramref name="secret"/>; throws <see cref="ArgumentException"/> when it would exceed 127 characters.</summary>
    public static string For(string prefix, SecretRef secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var name = TenantPrefix(prefix, secret.Tenant) + Escape(secret.Namespace) + "--" + Escape(secret.Name);
        return name.Length <= MaxLength
            ? name
            : throw new ArgumentException(
                $"Secret {secret} of tenant '{secret.Tenant}' maps to a Key Vault certificate name of {name.Length} characters " +
                $"('{name[..40]}…'); Key Vault allows {MaxLength}. Use a shorter secret name or namespace.", nameof(secret));
    }

    /// <summary>What every vault name of <paramref name="tenant"/> starts with, e.g. <c>ogw-tenant-da--</c>.</summary>
    public static string TenantPrefix(string prefix, string tenant)
    {
        if (!IsValidPrefix(prefix))
        {
            throw new ArgumentException($"the Key Vault name prefix '{prefix}' must be 1-24 letters or digits.", nameof(prefix));
        }

        ArgumentException.ThrowIfNullOrEmpty(tenant);
        return prefix.ToLowerInvariant() + "-" + Escape(tenant) + "--";
    }

    /// <summary>
    /// Reads a name made by <see cref="For"/> back: true, with the tenant's secret, when <paramref name="name"/> is
    /// <paramref name="tenant"/>'s under <paramref name="prefix"/> (vault names ignore case, so does this).
    /// </summary>
    public static bool TryRead(string prefix, string tenant, string name, out SecretRef secret)
    {
        secret = null!;
        var start = TenantPrefix(prefix, tenant);
        if (!name.StartsWith(start, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var parts = name[start.Length..].ToLowerInvariant().Split("--");
        if (parts.Length != 2 || Unescape(parts[0]) is not { } ns || Unescape(parts[1]) is not { } secretName)
        {
            return false;
        }

        secret = new SecretRef(ns, secretName) { Tenant = tenant };
        return true;
    }

    private static string Escape(string part)
    {
        ArgumentException.ThrowIfNullOrEmpty(part);
        var result = new StringBuilder(part.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in part.EnumerateRunes())
        {
            if (rune.Value is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                result.Append((char)rune.Value);
            }
            else if (rune.Value == '-')
            {
                result.Append("-d");
            }
            else if (rune.Value == '.')
            {
                result.Append("-p");
            }
            else
            {
                var length = rune.EncodeToUtf8(utf8);
                foreach (var b in utf8[..length])
                {
                    result.Append("-x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
                }
            }
        }

        return result.ToString();
    }

    /// <summary>The inverse of <see cref="Escape"/>; null for text <see cref="Escape"/> never writes.</summary>
    private static string? Unescape(string part)
    {
        var bytes = new List<byte>(part.Length);
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                bytes.Add((byte)c);
                continue;
            }

            if (c != '-' || i + 1 >= part.Length)
            {
                return null;
            }

            switch (part[++i])
            {
                case 'd':
                    bytes.Add((byte)'-');
                    break;
                case 'p':
                    bytes.Add((byte)'.');
                    break;
                case 'x' when i + 2 < part.Length && byte.TryParse(part.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b):
                    bytes.Add(b);
                    i += 2;
                    break;
                default:
                    return null;
            }
        }

        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. bytes]);
            return text.Length > 0 && Escape(text) == part ? text : null;
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
