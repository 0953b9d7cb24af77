// OrleansGateway on Azure: what `azd provision` creates (docs/deploy.md). Subscription scope: one resource group
// rg-<environment> holding an AKS cluster, the gateway's managed identity (workload identity), Table storage,
// Key Vault, a container registry, Log Analytics and Application Insights. Every output becomes a value of the
// azd environment, which the templated manifests of infra/k8s/gateway read as {{.Env.NAME}}.
targetScope = 'subscription'

@description('Name of the azd environment; names the resource group and seeds every resource name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource.')
@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Principal id of the operator who runs azd (azd passes the signed-in account); it may manage the vault\'s secrets and certificates.')
param principalId string = ''

@description('Kind of that principal: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('VM size of the cluster\'s nodes.')
param nodeVmSize string = 'Standard_D2s_v5'

@description('Number of nodes.')
@minValue(1)
@maxValue(100)
param nodeCount int = 2

@description('AKS control plane tier: Free (no uptime SLA) or Standard (uptime SLA, paid per cluster hour).')
@allowed([
  'Free'
  'Standard'
])
param aksSkuTier string = 'Free'

@description('Kubernetes version; empty for the region\'s default.')
param kubernetesVersion string = ''

@description('Replication of the Table storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

// The gateway's Kubernetes namespace and service account: the names azure.yaml (k8s.namespace) and the manifests
// of infra/k8s/gateway use. The federated credential trusts exactly this account; tools/check-infra.sh checks
// that the three agree.
var kubernetesNamespace = 'orleans-gateway'
var serviceAccountName = 'ogw-silo'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

resource group 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module cluster 'modules/aks.bicep' = {
  name: 'aks'
  scope: group
  params: {
    location: location
    tags: tags
    name: 'aks-${resourceToken}'
    skuTier: aksSkuTier
    kubernetesVersion: kubernetesVersion
    nodeVmSize: nodeVmSize
    nodeCount: nodeCount
    workspaceId: monitoring.outputs.workspaceId
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: group
  params: {
    location: location
    tags: tags
    name: 'id-ogw-${resourceToken}'
    oidcIssuerUrl: cluster.outputs.oidcIssuerUrl
    namespace: kubernetesNamespace
    serviceAccountName: serviceAccountName
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    skuName: storageSkuName
    gatewayPrincipalId: identity.outputs.principalId
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: group
  params: {
    location: location
    tags: tags
    name: 'kv-${resourceToken}'
    tenantId: tenant().tenantId
    gatewayPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: group
  params: {
    location: location
    tags: tags
    name: 'cr${resourceToken}'
    pullPrincipalId: cluster.outputs.kubeletPrincipalId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name

// azd's AKS target: the cluster it deploys to and the registry it pushes the image to.
output AZURE_AKS_CLUSTER_NAME string = cluster.outputs.name
output AZURE_AKS_OIDC_ISSUER_URL string = cluster.outputs.oidcIssuerUrl
output AZURE_AKS_NAMESPACE string = kubernetesNamespace
output AZURE_AKS_SERVICE_ACCOUNT string = serviceAccountName
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name

// What the gateway's pods are given (infra/k8s/gateway/*.tmpl.yaml).
output AZURE_GATEWAY_IDENTITY_NAME string = identity.outputs.name
output AZURE_GATEWAY_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_GATEWAY_FEDERATED_SUBJECT string = identity.outputs.federatedSubject
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = vault.outputs.uri

output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.workspaceName
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
