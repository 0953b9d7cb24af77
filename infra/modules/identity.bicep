// The gateway's identity: a user-assigned managed identity that pods of one Kubernetes service account use through
// AKS workload identity (a federated credential trusts the cluster's OIDC issuer for exactly that account).

@description('Azure region of the resources.')
param location string

@description('Tags of every resource.')
param tags object

@description('Name of the managed identity.')
param name string

@description('OIDC issuer URL of the AKS cluster.')
param oidcIssuerUrl string

@description('Kubernetes namespace of the gateway\'s service account.')
param namespace string

@description('Name of the gateway\'s Kubernetes service account.')
param serviceAccountName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

resource federation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: identity
  name: 'aks-${namespace}-${serviceAccountName}'
  properties: {
    issuer: oidcIssuerUrl
    subject: 'system:serviceaccount:${namespace}:${serviceAccountName}'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
output federatedSubject string = federation.properties.subject
