// Table storage for grain state, reminders and the silos' membership table. Shared keys are off: the gateway signs
// in with its managed identity (Storage Table Data Contributor; the Orleans providers create their own tables).

@description('Azure region of the resources.')
param location string

@description('Tags of every resource.')
param tags object

@description('Name of the storage account (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Replication: Standard_LRS keeps three copies in one datacenter; Standard_ZRS spreads them over zones.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Principal id of the gateway\'s managed identity.')
param gatewayPrincipalId string

// Storage Table Data Contributor (built-in role).
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource gatewayTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, gatewayPrincipalId, tableDataContributor)
  scope: account
  properties: {
    principalId: gatewayPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
  }
}

output name string = account.name
output tableEndpoint string = account.properties.primaryEndpoints.table
