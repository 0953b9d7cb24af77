using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>
/// What a certificate grain persists. For Secret-sourced material without a certificate source, the PEM (key included)
/// is here, as it is in the tenant's stored Secret. With a certificate source (Key Vault) only references: the source's
/// name and version and the thumbprint, for a Secret resource whose key the source keeps (pinned) and for a certificate
/// the tenant names without a Secret (the source's current version). That material lives in memory and is read again
/// after a reactivation.
/// </summary>
[GenerateSerializer, Alias("OrleansGateway.CertificateState")]
public sealed class CertificateState
{
    /// <summary>The published version (a hash of the material in service).</summary>
    [Id(0)] public string? Version { get; set; }

    /// <summary>Secret-sourced material only; always null for a certificate source.</summary>
    [Id(1)] public CertificateMaterial? Material { get; set; }

    /// <summary>One of <see cref="CertificateSources"/>; null when the grain holds nothing.</summary>
    [Id(2)] public string? Source { get; set; }

    /// <summary>The certificate's name in the source (Key Vault certificate name).</summary>
    [Id(3)] public string? Location { get; set; }

    /// <summary>The source's version of the material in service.</summary>
    [Id(4)] public string? SourceVersion { get; set; }

    [Id(5)] public string? Thumbprint { get; set; }

    /// <summary>
    /// The source's version a Secret resource names (its key is kept there; <see cref="Source"/> is
    /// <see cref="CertificateSources.Secret"/>): exactly this version is served. Null otherwise.
    /// </summary>
    [Id(6)] public string? Pinned { get; set; }
}

/// <summary>
/// See <see cref="ICertificateGrain"/>. The chain: a tenant Secret resource (pushed by the tenant grain) wins; with a
/// certificate source its key is kept there and the grain serves the version the Secret names (pinned). A certificate
/// the tenant references without a Secret comes from the <see cref="ICertificateSource"/>'s current version (Key
/// Vault), read on activation, on a reminder every <see cref="ICertificateSource.RefreshInterval"/> and on demand. A
/// new version is published only when the material changed, and only after it passed <see cref="CertificateFiles.Check"/>:
/// a refused or unreachable version leaves the last good material in service and shows in the status and the log.
/// </summary>
public sealed partial class CertificateGrain(
    [PersistentState("certificate", GatewayStorage.Name)] IPersistentState<CertificateState> state,
    IOptions<ControlPlaneOptions> options,
    ILogger<CertificateGrain> logger) : Grain, ICertificateGrain, IRemindable
{
    private const string RefreshReminder = "refresh";

    /// <summary>A source that does not answer within this fails the read (the caller may be a tenant apply).</summary>
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(20);

    /// <summary>True until the directory has this activation's version (see ListenerGrain: a write may not have been published).</summary>
    private bool _publishPending = true;

    /// <summary>Material from the certificate source (current or pinned version): in memory only.</summary>
    private CertificateMaterial? _sourced;

    /// <summary>
    /// An edge was handed the version without material (reactivated during an outage): the next good read must
    /// publish a version that differs, or edges would never fetch again.
    /// </summary>
    private bool _handedOutEmpty;

    private CertificateHealth _health = CertificateHealth.Pending;
    private string? _message;
    private CertificateInfo? _serving;
    private DateTimeOffset? _lastChecked;

    private SecretRef Secret => CertificateKey.Parse(this.GetPrimaryKeyString());

    private ICertificateSource? Source => ServiceProvider.GetService<ICertificateSource>();

    private TimeProvider Time => ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

    /// <summary>Serves the source's current version (a certificate without a Secret resource).</summary>
    private bool FromSource => state.State.Source == CertificateSources.KeyVault;

    /// <summary>Serves the source's version a Secret resource names.</summary>
    private bool IsPinned => state.State is { Source: CertificateSources.Secret, Pinned: not null };

    /// <summary>The material is read from the source and held in memory only.</summary>
    private bool UsesSource => FromSource || IsPinned;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State is { Source: CertificateSources.Secret, Material.TlsCrt: { } crt })
        {
            _serving = CertificateFiles.Describe(crt);
            _health = CertificateHealth.Ready;
        }

        return Task.CompletedTask;
    }

    public async Task SetAsync(CertificateMaterial? material)
    {
        if (UsesSource)
        {
            await StopRefreshingAsync();
        }

        _sourced = null;
        _serving = material?.TlsCrt is { } crt ? CertificateFiles.Describe(crt) : null;
        _health = material is null ? CertificateHealth.Pending : CertificateHealth.Ready;
        _message = null;
        _lastChecked = null;
        var next = new CertificateState
        {
            Version = material is null ? null : VersionOf(material),
            Material = material,
            Source = material is null ? null : CertificateSources.Secret,
            Thumbprint = _serving?.Thumbprint,
        };
        await CommitAsync(next);
    }

    public async Task<CertificateStatus> UseSourceAsync()
    {
        var source = Source ?? throw new InvalidOperationException(
            $"certificate {Secret}: no certificate source is configured on this silo (--key-vault-uri); add a Secret resource instead.");
        if (FromSource && _sourced is not null)
        {
            await StartRefreshingAsync(source);
            return Status();
        }

        string location;
        try
        {
            location = source.Locate(Secret);
        }
        catch (ArgumentException e)
        {
            _health = CertificateHealth.Refused;
            _message = e.Message;
            await CommitAsync(new CertificateState { Source = CertificateSources.KeyVault });
            return Status();
        }

        if (!FromSource || state.State.Location != location)
        {
            // Switching from a Secret: its material is no longer the tenant's; the source's replaces it when read.
            _serving = null;
            _sourced = null;
            await CommitAsync(new CertificateState { Source = CertificateSources.KeyVault, Location = location });
        }

        await StartRefreshingAsync(source);
        return await RefreshFromSourceAsync(source);
    }

    public async Task<CertificateStatus> UseStoredSecretAsync(CertificatePin pin, CertificateMaterial? material)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var secret = Secret;
        if (Source is not { } source)
        {
            // Keys were kept in a vault this silo does not have: nothing can be served until it has it again.
            _sourced = null;
            _serving = null;
            SetHealth(CertificateHealth.Unavailable,
                $"the key of Secret {secret} is kept in the certificate source ('{pin.Location}' version {pin.Version}), but this silo has none " +
                "configured; start every silo with the same --key-vault-uri, or apply the Secret again");
            await CommitAsync(new CertificateState { Source = CertificateSources.Secret, Location = pin.Location, Pinned = pin.Version });
            return Status();
        }

        if (IsPinned && state.State.Pinned == pin.Version && state.State.SourceVersion == pin.Version && _sourced is not null)
        {
            await StartRefreshingAsync(source);
            return Status();
        }

        if (material?.TlsCrt is { } crt && CertificateFiles.Describe(crt) is { } info && info.Thumbprint == pin.Thumbprint)
        {
            // Just stored by the tenant grain: no need to read it back.
            _sourced = material;
            _serving = info;
            _lastChecked = null;
            SetHealth(CertificateHealth.Ready, null);
            await CommitAsync(new CertificateState
            {
                Version = PublishedVersion(material),
                Source = CertificateSources.Secret,
                Location = pin.Location,
                SourceVersion = pin.Version,
                Thumbprint = info.Thumbprint,
                Pinned = pin.Version,
            });
            await StartRefreshingAsync(source);
            return Status();
        }

        if (state.State is { Source: CertificateSources.Secret, Material: { } stored })
        {
            // The key was in grain state (before the vault): keep serving it from memory until the pinned version is read.
            _sourced = stored;
        }

        // What is published stays until the pinned version is read: edges keep serving it meanwhile.
        await CommitAsync(new CertificateState
        {
            Version = _sourced is null ? null : state.State.Version,
            Source = CertificateSources.Secret,
            Location = pin.Location,
            SourceVersion = _sourced is null ? null : state.State.SourceVersion,
            Thumbprint = _sourced is null ? null : state.State.Thumbprint,
            Pinned = pin.Version,
        });
        await StartRefreshingAsync(source);
        return await RefreshPinnedAsync(source);
    }

    public async Task<CertificateView> GetAsync()
    {
        if (!UsesSource)
        {
            return new CertificateView(state.State.Version, state.State.Material);
        }

        if (_sourced is null && Source is { } source && state.State.Location is not null)
        {
            await ReadAsync(source);
        }

        if (_sourced is null)
        {
            _handedOutEmpty = true;
        }

        return new CertificateView(state.State.Version, _sourced);
    }

    public async Task<CertificateStatus> RefreshAsync() =>
        UsesSource && Source is { } source && state.State.Location is not null ? await ReadAsync(source) : Status();

    public Task<CertificateStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<CertificateStatus> ImportAsync(CertificateUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var secret = Secret;
        var source = Source ?? throw new InvalidOperationException(
            $"certificate {secret}: no certificate source is configured (--key-vault-uri); store the certificate as a tenant Secret instead.");
        var material = CertificateFiles.ReadUpload(upload);
        if (CertificateFiles.Check(material, Time.GetUtcNow(), out _) is { } problem)
        {
            throw new ArgumentException($"certificate {secret} refused: {problem}.", nameof(upload));
        }

        try
        {
            using var cancel = new CancellationTokenSource(FetchTimeout);
            var version = await source.ImportAsync(secret, material, cancel.Token);
            LogImported(logger, secret.Tenant, secret.ToString(), source.Name, version);
        }
        catch (Exception e) when (e is CertificateSourceException or OperationCanceledException)
        {
            // A platform exception type crosses the grain call as itself; the message is already safe to show.
            throw new InvalidOperationException($"certificate {secret}: the import failed: {e.Message}");
        }

        // A Secret resource of the same name keeps precedence (the chain); otherwise serve what was imported now.
        return state.State.Source == CertificateSources.Secret ? Status() : await UseSourceAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        UsesSource && Source is { } source && state.State.Location is not null ? ReadAsync(source) : StopRefreshingAsync();

    private Task<CertificateStatus> ReadAsync(ICertificateSource source) => IsPinned ? RefreshPinnedAsync(source) : RefreshFromSourceAsync(source);

    /// <summary>
    /// Reads the pinned version when it is not the one in memory. A version never changes, so once it is read the
    /// reminder costs no request; it only retries a read that failed (an outage, or a reactivation during one).
    /// </summary>
    private async Task<CertificateStatus> RefreshPinnedAsync(ICertificateSource source)
    {
        var pinned = state.State.Pinned!;
        if (_sourced is not null && state.State.SourceVersion == pinned)
        {
            SetHealth(CertificateHealth.Ready, null);
            return Status();
        }

        var secret = Secret;
        _lastChecked = Time.GetUtcNow();
        SourcedMaterial? fetched;
        try
        {
            using var cancel = new CancellationTokenSource(FetchTimeout);
            fetched = await source.FetchVersionAsync(secret, pinned, cancel.Token);
        }
        catch (CertificateSourceException e)
        {
            return Degrade(e.Refused ? CertificateHealth.Refused : CertificateHealth.Unavailable, e.Message);
        }
        catch (OperationCanceledException)
        {
            return Degrade(CertificateHealth.Unavailable, $"{source.Name} did not answer within {FetchTimeout.TotalSeconds:0} s");
        }

        if (fetched?.Material is not { } material)
        {
            _sourced = null;
            _serving = null;
            SetHealth(CertificateHealth.NotFound,
                $"{source.Name} has no version {pinned} of '{state.State.Location}', which holds the key of Secret {secret}; delete the Secret resource and apply it again.");
            await CommitAsync(new CertificateState { Source = CertificateSources.Secret, Location = state.State.Location, Pinned = pinned });
            return Status();
        }

        if (material.TlsKey is null || material.TlsCrt is null || CertificateFiles.Describe(material.TlsCrt) is not { } info)
        {
            return Degrade(CertificateHealth.Refused, $"version {pinned} of '{state.State.Location}' is refused: it has no readable certificate and key");
        }

        _sourced = material;
        _serving = info;
        SetHealth(CertificateHealth.Ready, null);
        await CommitAsync(new CertificateState
        {
            Version = PublishedVersion(material),
            Source = CertificateSources.Secret,
            Location = state.State.Location,
            SourceVersion = pinned,
            Thumbprint = info.Thumbprint,
            Pinned = pinned,
        });
        return Status();
    }

    private async Task<CertificateStatus> RefreshFromSourceAsync(ICertificateSource source)
    {
        var secret = Secret;
        var now = Time.GetUtcNow();
        _lastChecked = now;
        SourcedMaterial? fetched;
        try
        {
            using var cancel = new CancellationTokenSource(FetchTimeout);
            fetched = await source.FetchAsync(secret, _sourced is null ? null : state.State.SourceVersion, cancel.Token);
        }
        catch (CertificateSourceException e)
        {
            return Degrade(e.Refused ? CertificateHealth.Refused : CertificateHealth.Unavailable, e.Message);
        }
        catch (OperationCanceledException)
        {
            return Degrade(CertificateHealth.Unavailable, $"{source.Name} did not answer within {FetchTimeout.TotalSeconds:0} s");
        }

        if (fetched is null)
        {
            _sourced = null;
            _serving = null;
            SetHealth(CertificateHealth.NotFound,
                $"{source.Name} has no certificate '{state.State.Location}' for Secret {secret} of tenant '{secret.Tenant}'; import it (management API) or add a Secret resource.");
            await CommitAsync(new CertificateState { Source = CertificateSources.KeyVault, Location = state.State.Location });
            return Status();
        }

        if (fetched.Material is null)
        {
            SetHealth(CertificateHealth.Ready, null);
            return Status();
        }

        if (CertificateFiles.Check(fetched.Material, now, out var info) is { } problem)
        {
            return Degrade(CertificateHealth.Refused, $"version {fetched.Version} of '{state.State.Location}' refused: {problem}");
        }

        _sourced = fetched.Material;
        _serving = info;
        SetHealth(CertificateHealth.Ready, null);
        await CommitAsync(new CertificateState
        {
            Version = PublishedVersion(fetched.Material),
            Source = CertificateSources.KeyVault,
            Location = state.State.Location,
            SourceVersion = fetched.Version,
            Thumbprint = info!.Thumbprint,
        });
        return Status();
    }

    /// <summary>
    /// The version to publish for material read from the source: its hash, made different when an edge was handed this
    /// grain's version without material meanwhile (reactivated during an outage), or it would never fetch it again.
    /// </summary>
    private string PublishedVersion(CertificateMaterial material)
    {
        var version = VersionOf(material);
        if (_handedOutEmpty)
        {
            version += "-" + Time.GetUtcNow().ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            _handedOutEmpty = false;
        }

        return version;
    }

    /// <summary>The source failed: keep the last good material in service, say why in the status and the log.</summary>
    private CertificateStatus Degrade(CertificateHealth health, string message)
    {
        var detail = _sourced is null ? "nothing is served" : $"still serving the last good version {state.State.SourceVersion}";
        SetHealth(health, $"{message}; {detail}.");
        return Status();
    }

    private void SetHealth(CertificateHealth health, string? message)
    {
        if (health is not (CertificateHealth.Ready or CertificateHealth.Pending))
        {
            CertificateMetrics.Problems.Add(1, new KeyValuePair<string, object?>("state", health.ToString()));
        }

        if (health != _health || message != _message)
        {
            var secret = Secret;
            if (health == CertificateHealth.Ready)
            {
                LogReady(logger, secret.Tenant, secret.ToString(), state.State.Location);
            }
            else
            {
                LogDegraded(logger, secret.Tenant, secret.ToString(), health, message);
            }
        }

        _health = health;
        _message = message;
    }

    private async Task CommitAsync(CertificateState next)
    {
        var current = state.State;
        var changed = next.Version != current.Version || next.Source != current.Source || next.Location != current.Location
            || next.SourceVersion != current.SourceVersion || next.Thumbprint != current.Thumbprint || next.Pinned != current.Pinned
            || !Equals(next.Material, current.Material);
        var publish = next.Version != current.Version;
        if (changed)
        {
            state.State = next;
            await state.WriteStateAsync();
        }

        if (publish || _publishPending)
        {
            await GrainFactory.GetDirectoryGrain(options.Value.AmbassadorId).PublishCertificateAsync(Secret, next.Version);
            _publishPending = false;
        }
    }

    private async Task StartRefreshingAsync(ICertificateSource source) =>
        await this.RegisterOrUpdateReminder(RefreshReminder, source.RefreshInterval, source.RefreshInterval);

    private async Task StopRefreshingAsync()
    {
        if (Source is null)
        {
            return;
        }

        if (await this.GetReminder(RefreshReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private CertificateStatus Status() =>
        new(state.State.Source, state.State.Location, state.State.SourceVersion, _health, _message, _serving, _lastChecked);

    /// <summary>A hash of the material: equal material, equal version, on every silo.</summary>
    internal static string VersionOf(CertificateMaterial m)
    {
        var text = string.Join('\0', m.Type, m.TlsCrt ?? "", m.TlsKey ?? "", m.CaCrt ?? "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: certificate {Secret} is in service from {Location}")]
    private static partial void LogReady(ILogger logger, string tenant, string secret, string? location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: certificate {Secret} is {Health}: {Reason}")]
    private static partial void LogDegraded(ILogger logger, string tenant, string secret, CertificateHealth health, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: certificate {Secret} imported into {Source} as version {Version}")]
    private static partial void LogImported(ILogger logger, string tenant, string secret, string source, string version);
}
