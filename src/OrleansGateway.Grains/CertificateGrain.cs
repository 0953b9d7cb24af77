using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansGateway.Grains;

[GenerateSerializer, Alias("OrleansGateway.CertificateState")]
public sealed class CertificateState
{
    [Id(0)] public string? Version { get; set; }
    [Id(1)] public CertificateMaterial? Material { get; set; }
}

/// <summary>
/// See <see cref="ICertificateGrain"/>. The material comes from the tenant's Secret resources (the tenant grain sets
/// it); the private key is then in grain state, as it already is in the tenant's stored Secret. Key Vault references
/// (a later issue) will keep only a reference here.
/// </summary>
public sealed class CertificateGrain(
    [PersistentState("certificate", GatewayStorage.Name)] IPersistentState<CertificateState> state,
    IOptions<ControlPlaneOptions> options) : Grain, ICertificateGrain
{
    /// <summary>True until the directory has this activation's version (see ListenerGrain: a write may not have been published).</summary>
    private bool _publishPending = true;

    public async Task SetAsync(CertificateMaterial? material)
    {
        var version = material is null ? null : VersionOf(material);
        if (version != state.State.Version)
        {
            state.State.Material = material;
            state.State.Version = version;
            await state.WriteStateAsync();
            _publishPending = true;
        }

        if (_publishPending)
        {
            var secret = CertificateKey.Parse(this.GetPrimaryKeyString());
            await GrainFactory.GetDirectoryGrain(options.Value.AmbassadorId).PublishCertificateAsync(secret, version);
            _publishPending = false;
        }
    }

    public Task<CertificateView> GetAsync() => Task.FromResult(new CertificateView(state.State.Version, state.State.Material));

    /// <summary>A hash of the material: equal material, equal version, on every silo.</summary>
    internal static string VersionOf(CertificateMaterial m)
    {
        var text = string.Join('\0', m.Type, m.TlsCrt ?? "", m.TlsKey ?? "", m.CaCrt ?? "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }
}
