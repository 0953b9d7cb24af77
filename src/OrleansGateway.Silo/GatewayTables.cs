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

    public TableServiceClient CreateClient() => _cluster.StorageEndpoint is { } endpoint
        ? new TableServiceClient(endpoint, _credential, _options)
        : new TableServiceClient(_cluster.ConnectionString, _options);
}
