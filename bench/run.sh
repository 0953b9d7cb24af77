#!/usr/bin/env bash
# One command for the proxy benchmark: installs what it needs (Debian packages), builds the load generator and the
# gateway (Release), then measures direct, OrleansGateway (native engine, and the managed engine as a reference),
# HAProxy and nginx `stream` side by side on loopback (plus redis-benchmark through each, and an edge with 1,000
# tenants x 10 mappings loaded) and
# prints the table (also written to bench/results/latest.json, docs/benchmarks.md and docs/benchmarks.png).
#
#   bench/run.sh            full run: 3 rounds of 5 s per scenario and target (about 30 minutes; stopped at 45)
#   bench/run.sh --quick    2 rounds of 1.5 s (about 8 minutes with a built gateway; stopped at 20); prints the table and
#                           writes bench/results/quick.json only
#   extra options go to bench/proxy/bench.py (e.g. --gateway-env DOTNET_gcServer=1 --no-docs)
#
# Every process it starts is stopped when it ends, also on Ctrl+C; the whole run is bounded by `timeout`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/.tmp/bench"

rounds=3 seconds=5 warmup=2 settle=45 limit=2700 args=()
for a in "$@"; do
  case "$a" in
    # A quick run is for trying changes: it leaves docs/benchmarks.md and latest.json to full runs.
    --quick) rounds=2 seconds=1.5 warmup=1 settle=15 limit=1200 args+=(--no-docs --idle-seconds 10 --out "$here/results/quick.json") ;;
    *) args+=("$a") ;;
  esac
done

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v cc >/dev/null || need+=(gcc make)
command -v make >/dev/null || need+=(make)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v openssl >/dev/null || need+=(openssl)
command -v taskset >/dev/null || need+=(util-linux)
[ -x /usr/bin/python3 ] || need+=(python3)
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# Debian's packages start the system services where an init system runs them; the benchmark runs its own instances.
for svc in haproxy nginx redis-server; do
  if command -v service >/dev/null && service "$svc" status >/dev/null 2>&1; then
    echo "note: the system $svc service is running; the benchmark uses its own instance on other ports" >&2
  fi
done

mkdir -p "$build"
make -s -C "$here/loadgen" >&2
echo "publishing the gateway (Release)" >&2
dotnet publish "$root/src/OrleansGateway.Silo" -c Release -o "$build/gateway" --nologo -v quiet -clp:NoSummary >&2

# A proxy holds two sockets per connection; raise the open-files limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec timeout --kill-after=20 "$limit" /usr/bin/python3 "$here/proxy/bench.py" \
  --loadgen "$here/loadgen/loadgen" --gateway-dir "$build/gateway" --rounds "$rounds" --seconds "$seconds" --warmup "$warmup" --settle "$settle" \
  --command "bench/run.sh${*:+ $*}" ${args[@]+"${args[@]}"}
