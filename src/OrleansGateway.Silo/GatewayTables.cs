using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;

namespace OrleansGateway.Silo;

/// <summary>
/// The Azure Table storage that holds grain state, the membership table and reminders: from a connection string, or
/// from <c>--storage-endpoint</c> with a token credential, so that no account key sits in configuration (in AKS the
/// workload identity through <see cref="DefaultAzureCredential"/>; docs/deploy.md).
/// </summary>
internal sealed class GatewayTables
{
    private readonly ClusterSettings _cluster;
    private readonly TokenCredential? _credential;
    private readonly TableClientOptions? _options;

    /// <param name="credential">The endpoint's credential; null: <see cref="DefaultAzureCredential"/> (tests pass their own).</param>
    /// <param name="options">The clients' options; null: the SDK's (tests pass a transport that trusts their emulator).</param>
    public GatewayTables(ClusterSettings cluster, TokenCredential? credential = null, TableClientOptions? options = null)
    {
        _cluster = cluster;
        _options = options;
        _credential = cluster.StorageEndpoint is null ? null : credential ?? new DefaultAzureCredential();
    }

    /// <summary>A client with the SDK's retries: membership and reminders must ride out a storage blip.</summary>
    public TableServiceClient CreateClient() => Create(_options);

    /// <summary>
    /// A client for grain state with bounded retries: one apply reads and writes several grains' state in turn, and
    /// with the SDK's retries (4 tries, growing delays, 100 s network timeout) each waited out its own, so an apply
    /// during a storage outage was refused only after 17–21 s (docs/reliability.md, "Measured under faults").
    /// </summary>
    public TableServiceClient CreateGrainStorageClient()
    {
        // A copy, not the shared options (the other clients keep the SDK's retries); the tests' transport comes along.
        var options = new TableClientOptions();
        if (_options is not null)
        {
            options.Transport = _options.Transport;
        }

        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromSeconds(0.2);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return Create(options);
    }

    private TableServiceClient Create(TableClientOptions? options) => _cluster.StorageEndpoint is { } endpoint
        ? new TableServiceClient(endpoint, _credential, options)
        : new TableServiceClient(_cluster.ConnectionString, options);
}
