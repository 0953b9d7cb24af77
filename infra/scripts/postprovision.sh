#!/bin/sh
# azd's postprovision hook (azure.yaml): puts what the management API needs into the new Key Vault, each only
# where it is absent, so that the pods azd deploys next find them:
#   secret ogw-admin-key    the admin key (44 random base64 characters)          --admin-key-vault-secret
#   certificate ogw-api     the API's HTTPS certificate (self-signed, renewed by   --api-key-vault-certificate
#                           Key Vault 30 days before it expires)
# It never replaces either: rotating them is docs/deploy.md's "Rotating keys and certificates". Talks to the
# vault's REST API with azd's own sign-in (azd auth token), so it needs only sh, curl, sed and base64.
set -eu
vault="${AZURE_KEY_VAULT_ENDPOINT:?is not set: this script is the postprovision hook of azd, which sets it from main.bicep}"
vault="${vault%/}"
namespace="${AZURE_AKS_NAMESPACE:-orleans-gateway}"
version="api-version=7.4"
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

token=$(azd auth token --scope https://vault.azure.net/.default --output json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then
  echo "postprovision: azd auth token gave no token for Key Vault; sign in with azd auth login" >&2
  exit 1
fi

# call METHOD PATH [JSON]: prints the HTTP status (000 when the vault cannot be reached); the answer is in $body.
call() {
  if [ $# -ge 3 ]; then
    curl -sS -o "$body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data "$3" "$vault$2?$version" || true
  else
    curl -sS -o "$body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" "$vault$2?$version" || true
  fi
}

# Role assignments made by the deployment take a few minutes to reach the vault: 401/403 is retried for 5 minutes.
exists() {
  for _ in $(seq 1 30); do
    status=$(call GET "$1")
    case "$status" in
      200) return 0 ;;
      404) return 1 ;;
      401|403) sleep 10 ;;
      *) echo "postprovision: GET $vault$1 answered $status: $(cat "$body")" >&2; exit 1 ;;
    esac
  done
  echo "postprovision: GET $vault$1 still refused ($status) after 5 minutes: does your account have Key Vault" \
    "Secrets Officer and Certificates Officer on the vault (main.bicep grants them to AZURE_PRINCIPAL_ID)?" >&2
  exit 1
}

expect() {
  case "$1" in
    200|201|202) ;;
    *) echo "postprovision: $2 answered $1: $(cat "$body")" >&2; exit 1 ;;
  esac
}

if exists /secrets/ogw-admin-key; then
  echo "postprovision: secret ogw-admin-key exists; kept"
else
  key=$(head -c 33 /dev/urandom | base64 | tr -d '\n')
  expect "$(call PUT /secrets/ogw-admin-key "{\"value\":\"$key\",\"contentType\":\"text/plain\"}")" "PUT secret ogw-admin-key"
  echo "postprovision: secret ogw-admin-key created (read it with: az keyvault secret show --vault-name ${AZURE_KEY_VAULT_NAME:-<vault>} -n ogw-admin-key --query value -o tsv)"
fi

if exists /certificates/ogw-api; then
  echo "postprovision: certificate ogw-api exists; kept"
else
  names="\"localhost\",\"ogw-api\",\"ogw-api.$namespace\",\"ogw-api.$namespace.svc\",\"ogw-api.$namespace.svc.cluster.local\""
  policy="{\"policy\":{\"key_props\":{\"exportable\":true,\"kty\":\"RSA\",\"key_size\":2048,\"reuse_key\":false},\
\"secret_props\":{\"contentType\":\"application/x-pem-file\"},\
\"x509_props\":{\"subject\":\"CN=ogw-api.$namespace.svc\",\"sans\":{\"dns_names\":[$names]},\"validity_months\":12,\
\"ekus\":[\"1.3.6.1.5.5.7.3.1\"]},\"issuer\":{\"name\":\"Self\"},\
\"lifetime_actions\":[{\"trigger\":{\"days_before_expiry\":30},\"action\":{\"action_type\":\"AutoRenew\"}}]}}"
  expect "$(call POST /certificates/ogw-api/create "$policy")" "POST certificate ogw-api"
  echo "postprovision: certificate ogw-api requested (self-signed; Key Vault issues it within seconds)"
fi
