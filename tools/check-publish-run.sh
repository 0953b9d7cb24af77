#!/usr/bin/env bash
# Runs the image's publish output as the core Deployment of infra/k8s/gateway runs it, where no container engine
# and no Azure exist (docs/deploy.md, "What CI checks"); tools/check-infra.sh calls it, .ci/run calls that.
#  - `dotnet publish src/OrleansGateway.Silo -c Release -o .tmp/publish`, the Dockerfile's build step;
#  - the Dockerfile's ENTRYPOINT, as its numeric USER, with the ENV of its final stage;
#  - the container's args and env exactly as 40-core.tmpl.yaml spells them, with local stand-ins only where Azure is
#    absent (the workload identity cannot sign in without Entra ID):
#      --storage-endpoint URI            -> --storage-connection-string to an Azurite in the pod (grain state, membership)
#      --api-key-vault-certificate NAME  -> --api-certificate: a self-signed PEM made here (the API still serves HTTPS)
#      --admin-key-vault-secret NAME     -> --admin-key-file: a random key made here
#      --key-vault-uri URI               -> dropped (nothing else in the core's args reads the vault)
#    the Kubernetes API server is one that does not answer; $(POD_IP) and the downward-API values are those of a pod;
#  - in a network namespace of its own, like a pod, with its own address: /healthz must answer over HTTPS on that
#    address (the kubelet probes the pod's address, not loopback, and does not verify the certificate).
# An option of the manifest that this build does not know fails the check. Needs root (ip netns), node and npm (Azurite).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
manifest=infra/k8s/gateway/40-core.tmpl.yaml
out=.tmp/publish-check
rm -rf "$out"
mkdir -p "$out/home" "$out/tmp"

dotnet publish src/OrleansGateway.Silo -c Release -o .tmp/publish -v q -nologo
echo "check-publish-run: published in ${SECONDS}s"
dotnet build tools/InfraCheck -v q -nologo >/dev/null
dotnet tools/InfraCheck/bin/Debug/net10.0/InfraCheck.dll container "$manifest" ogw-core >"$out/container.txt"

# The image's entry point, user and environment (final stage). The base image's own ENV comes first: what the
# Dockerfile sets overrides it, as in the image.
stage=$(awk 'toupper($1)=="FROM"{s=""} {s=s $0 "\n"} END{printf "%s", s}' Dockerfile)
entrypoint=$(sed -n 's/^ENTRYPOINT \[\(.*\)\]$/\1/p' <<<"$stage" | tr -d '"' | tr ',' ' ')
user=$(sed -n 's/^USER \([0-9][0-9]*\).*$/\1/p' <<<"$stage")
image_env=(APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true)
while IFS= read -r line; do image_env+=("$line"); done < <(sed -n 's/^ENV \([A-Za-z_][A-Za-z0-9_]*\)=\(.*\)$/\1=\2/p' <<<"$stage")
[ -n "$entrypoint" ] && [ -n "$user" ] || { echo "check-publish-run: the Dockerfile's final stage needs ENTRYPOINT [..] and a numeric USER" >&2; exit 1; }

# A pod: its own network namespace, reached from here through a veth pair on a private /30 of its own.
id=$$
netns="ogwpub$id"
host_if="ogwh$id"
third=$((200 + id % 50))
fourth=$(((id / 50 % 60) * 4))
host_ip="10.213.$third.$((fourth + 1))"
pod_ip="10.213.$third.$((fourth + 2))"
gateway_pid=""
cleanup() {
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  AZURITE_DIR="$repo/$out/azurite" tools/azurite/stop.sh >/dev/null 2>&1 || true
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$netns"
ip link add "$host_if" type veth peer name eth0 netns "$netns"
ip addr add "$host_ip/30" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$netns" ip addr add "$pod_ip/30" dev eth0
ip netns exec "$netns" ip link set eth0 up
ip netns exec "$netns" ip link set lo up

# Azurite inside the pod's namespace (its loopback is the pod's own), installed beforehand: the namespace has no network.
[ -x tools/azurite/node_modules/.bin/azurite-table ] || (cd tools/azurite && npm ci --no-audit --no-fund --loglevel=error)
ip netns exec "$netns" env AZURITE_DIR="$repo/$out/azurite" tools/azurite/start.sh

# Stand-ins for what the pod reads from Key Vault: the API's certificate and the admin key.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=ogw-core" -addext "subjectAltName=IP:$pod_ip" \
  -keyout "$out/api.pem" -out "$out/api-cert.pem" 2>/dev/null
cat "$out/api-cert.pem" >>"$out/api.pem"
openssl rand -base64 32 >"$out/admin.key"
chmod 644 "$out/api.pem" "$out/admin.key"

# A kubeconfig for an API server that does not answer (loopback port 1 of the pod's namespace).
cat >"$out/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: orleans-gateway}}]
current-context: none
KUBECONFIG
chmod 644 "$out/kubeconfig"
chmod 777 "$out/tmp"

# The manifest's args and env, with the stand-ins above where Azure is absent.
args=()
pod_env=()
substituted=""
skip_value=0
while IFS= read -r line; do
  kind=${line%% *}
  rest=${line#* }
  if [ "$kind" = env ]; then
    name=${rest%% *}
    value=${rest#* }
    case "$value" in
      field:status.podIP) value=$pod_ip ;;
      field:metadata.name) value=ogw-core-publish-check ;;
      field:metadata.namespace) value=orleans-gateway ;;
      field:*) echo "check-publish-run: no stand-in for the downward-API field ${value#field:}" >&2; exit 1 ;;
    esac
    pod_env+=("$name=$value")
    continue
  fi

  if [ "$skip_value" = 1 ]; then skip_value=0; continue; fi
  case "$rest" in
    --storage-endpoint) args+=(--storage-connection-string "UseDevelopmentStorage=true") ;;
    --api-key-vault-certificate) args+=(--api-certificate "$repo/$out/api.pem") ;;
    --admin-key-vault-secret) args+=(--admin-key-file "$repo/$out/admin.key") ;;
    --key-vault-uri) ;;
    *) args+=("$rest"); continue ;;
  esac
  substituted="$substituted $rest"
  skip_value=1
done <"$out/container.txt"
for i in "${!args[@]}"; do
  args[$i]=${args[$i]//\$(POD_IP)/$pod_ip}
  case "${args[$i]}" in *'{{'*|*'$('*) echo "check-publish-run: arg '${args[$i]}' has no local stand-in" >&2; exit 1 ;; esac
done
echo "check-publish-run: args of ogw-core as run here: ${args[*]}"
echo "check-publish-run: Azure stand-ins for:$substituted"

# Every option of the manifest must be one this build knows (else the pod would exit with a usage error).
(cd .tmp/publish && dotnet OrleansGateway.Silo.dll --help) >"$out/help.txt"
missing=""
for arg in $(sed -n 's/^arg \(--[a-z-]*\)$/\1/p' "$out/container.txt"); do
  grep -q -- "$arg\b" "$out/help.txt" || missing="$missing $arg"
done
if [ -n "$missing" ]; then
  echo "check-publish-run: options of $manifest this build does not know:$missing" >&2
  exit 1
fi

cd .tmp/publish
ip netns exec "$netns" setpriv --reuid "$user" --regid "$user" --clear-groups \
  env -i PATH="$PATH" HOME="$repo/$out/home" TMPDIR="$repo/$out/tmp" KUBECONFIG="$repo/$out/kubeconfig" \
  "${image_env[@]}" "${pod_env[@]}" $entrypoint "${args[@]}" >"$repo/$out/gateway.log" 2>&1 &
gateway_pid=$!
started=$SECONDS
cd "$repo"

# /healthz over HTTPS on the pod's address, from outside its namespace, as the kubelet probes it (scheme HTTPS, the
# certificate not verified); 120 s for a cold start.
deadline=$((SECONDS + 120))
while :; do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    wait "$gateway_pid" && code=0 || code=$?
    gateway_pid=""
    echo "check-publish-run: the gateway exited ($code) before answering /healthz; its output:" >&2
    cat "$out/gateway.log" >&2
    exit 1
  fi
  status=$(curl -sk -o "$out/healthz.txt" -w '%{http_code}' --max-time 2 "https://$pod_ip:8080/healthz" || true)
  [ "$status" = 200 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "check-publish-run: /healthz on https://$pod_ip:8080 did not answer 200 within 120 s (last: $status); output:" >&2
    cat "$out/gateway.log" >&2
    exit 1
  fi
  sleep 0.5
done
ready=$(curl -sk --max-time 5 "https://$pod_ip:8080/readyz" || true)
echo "check-publish-run: /healthz answered 200 over HTTPS on the pod address $pod_ip:8080 (not loopback) $((SECONDS - started))s after the start; /readyz: $ready"
echo "check-publish-run: ok"
