#!/usr/bin/env bash
# Runs the image's publish output as the core Deployment of infra/k8s/gateway runs it, where no container engine
# and no Azure exist (docs/deploy.md, "What CI checks"):
#  - `dotnet publish src/OrleansGateway.Silo -c Release -o .tmp/publish`, the Dockerfile's build step;
#  - the Dockerfile's ENTRYPOINT, as its numeric USER, with the ENV of its final stage;
#  - the container's args and env exactly as 40-core.tmpl.yaml spells them, adapted only where Azure is absent:
#    --storage-endpoint becomes an Azurite connection string, the Key Vault options are dropped, the Kubernetes API
#    server is one that does not answer; $(POD_IP) and the downward-API values are those of a pod;
#  - in a network namespace of its own, like a pod, with its own address: /healthz must answer on that address
#    (the kubelet probes the pod's address, not loopback).
# Lists the manifest's options this build does not know (the gateway exits with a usage error on them).
# OGW_PUBLISH_RUN_DROP_UNKNOWN=1 drops those to try the rest. Needs root (ip netns), node and npm (Azurite). tools/check-infra.sh runs it when OGW_CHECK_PUBLISH_RUN=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
manifest=infra/k8s/gateway/40-core.tmpl.yaml
out=.tmp/publish-check
rm -rf "$out"
mkdir -p "$out/home" "$out/tmp"

dotnet publish src/OrleansGateway.Silo -c Release -o .tmp/publish -v q -nologo
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

# The manifest's args and env, adapted where Azure is absent.
args=()
pod_env=()
dropped=""
skip_value=0
plain_url=0
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
  # Without the vault the API has no certificate (--api-key-vault-certificate is dropped): it answers plain HTTP.
  if [ "$plain_url" = 1 ]; then args+=("${rest/#https:/http:}"); plain_url=0; continue; fi
  case "$rest" in
    --api-url) args+=("$rest"); plain_url=1 ;;
    --storage-endpoint) args+=(--storage-connection-string "UseDevelopmentStorage=true"); skip_value=1 ;;
    --key-vault-uri|--api-key-vault-certificate|--admin-key-vault-secret) dropped="$dropped $rest"; skip_value=1 ;;
    *) args+=("$rest") ;;
  esac
done <"$out/container.txt"
for i in "${!args[@]}"; do
  args[$i]=${args[$i]//\$(POD_IP)/$pod_ip}
  case "${args[$i]}" in *'{{'*|*'$('*) echo "check-publish-run: arg '${args[$i]}' has no local stand-in" >&2; exit 1 ;; esac
done
echo "check-publish-run: args of ogw-core as run here: ${args[*]}"
echo "check-publish-run: dropped (no Key Vault here):$dropped"

# Which of the manifest's options this build does not know yet.
(cd .tmp/publish && dotnet OrleansGateway.Silo.dll --help) >"$out/help.txt"
missing=""
for arg in $(sed -n 's/^arg \(--[a-z-]*\)$/\1/p' "$out/container.txt"); do
  grep -q -- "$arg\b" "$out/help.txt" || missing="$missing $arg"
done
[ -z "$missing" ] || echo "check-publish-run: options of the manifest this build does not implement yet:$missing"

# OGW_PUBLISH_RUN_DROP_UNKNOWN=1 drops those options (and their values) to try everything else before they land.
if [ -n "$missing" ] && [ "${OGW_PUBLISH_RUN_DROP_UNKNOWN:-0}" = 1 ]; then
  kept=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ " $missing " == *" ${args[$i]} "* ]]; then
      [[ $((i + 1)) -lt ${#args[@]} && ${args[$((i + 1))]} != --* ]] && i=$((i + 1))
      continue
    fi
    kept+=("${args[$i]}")
  done
  args=("${kept[@]}")
  echo "check-publish-run: OGW_PUBLISH_RUN_DROP_UNKNOWN=1: running with ${args[*]}"
fi

cd .tmp/publish
ip netns exec "$netns" setpriv --reuid "$user" --regid "$user" --clear-groups \
  env -i PATH="$PATH" HOME="$repo/$out/home" TMPDIR="$repo/$out/tmp" KUBECONFIG="$repo/$out/kubeconfig" \
  "${image_env[@]}" "${pod_env[@]}" $entrypoint "${args[@]}" >"$repo/$out/gateway.log" 2>&1 &
gateway_pid=$!
cd "$repo"

# /healthz on the pod's address, from outside its namespace, as the kubelet probes it; 120 s for a cold start.
deadline=$((SECONDS + 120))
while :; do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    wait "$gateway_pid" && code=0 || code=$?
    gateway_pid=""
    echo "check-publish-run: the gateway exited ($code) before answering /healthz; its output:" >&2
    cat "$out/gateway.log" >&2
    [ -z "$missing" ] || echo "check-publish-run: not implemented yet:$missing" >&2
    exit 1
  fi
  status=$(curl -s -o "$out/healthz.txt" -w '%{http_code}' --max-time 2 "http://$pod_ip:8080/healthz" || true)
  [ "$status" = 200 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "check-publish-run: /healthz on $pod_ip:8080 did not answer 200 within 120 s (last: $status); output:" >&2
    cat "$out/gateway.log" >&2
    exit 1
  fi
  sleep 0.5
done
ready=$(curl -s --max-time 5 "http://$pod_ip:8080/readyz" || true)
echo "check-publish-run: /healthz answered 200 on the pod address $pod_ip:8080 (not loopback); /readyz: $ready"
echo "check-publish-run: ok"
