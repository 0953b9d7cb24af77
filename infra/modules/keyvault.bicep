// Key Vault with Azure RBAC (no access policies). The gateway reads tenants' certificates and its own API
// certificate and admin key (Certificate User, Secrets User: a certificate's private key is read as its secret)
// and imports certificates tenants upload through the management API (Certificates Officer). The operator who
// runs azd may create the admin key and the API certificate (Secrets Officer, Certificates Officer).

@description('Azure region of the resources.')
param location string

@description('Tags of every resource.')
param tags object

@description('Name of the vault (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Tenant of the vault\'s identities.')
param tenantId string

@description('Principal id of the gateway\'s managed identity.')
param gatewayPrincipalId string

@description('Principal id of the operator who runs azd (empty: no role for an operator).')
param operatorPrincipalId string = ''

@description('Kind of that principal: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

// Built-in role definition ids.
var certificateUser = 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var certificatesOfficer = 'a4417e6f-fecd-4de8-b567-7b0420556985'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

var gatewayRoles = [
  certificateUser
  secretsUser
  certificatesOfficer
]

var operatorRoles = empty(operatorPrincipalId) ? [] : [
  certificatesOfficer
  secretsOfficer
]

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

resource gatewayAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in gatewayRoles: {
    name: guid(vault.id, gatewayPrincipalId, role)
    scope: vault
    properties: {
      principalId: gatewayPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource operatorAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in operatorRoles: {
    name: guid(vault.id, operatorPrincipalId, role)
    scope: vault
    properties: {
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

output name string = vault.name
output uri string = vault.properties.vaultUri
