#!/usr/bin/env bash
# One command for the reliability figures under faults (issue 14; docs/reliability.md, "Measured under faults"):
# builds the gateway and the ogw CLI, then bench/faults/faults.py starts a private Azurite, two core silos and two edge
# silos as real processes (--role core|edge, clustered through Azurite's tables; the second edge in a network namespace
# of its own, so both serve the same ports), an echo upstream and client load on each edge, and
# runs: live configuration changes, each silo killed and restarted, a storage outage, a slowloris against one
# tenant, fuzzed ClientHellos and fuzzed configuration documents. Figures go to stdout and bench/results/faults*.json.
#
#   bench/faults/run.sh           full run (100 changes, 30 s outage, 5,000 stalled handshakes, 1M ClientHellos,
#                                 100k documents; tens of minutes on 2 cores); writes bench/results/faults.json
#   bench/faults/run.sh --quick   scaled down (10, 10 s, 500, 5,000, 1,000; a few minutes); bench/results/faults-quick.json
#   --keep                        keep the work folder with every process's log
#
# Needs dotnet, node/npm (Azurite, via tools/azurite), python3, openssl, and root (or CAP_NET_ADMIN) with iproute2 for
# the second edge's namespace (`ip netns`, a veth pair on 10.213.77.0/30; both removed at the end). Every process it starts is stopped when it
# ends; the whole run is bounded by `timeout`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/.tmp/bench-faults"
out="$root/bench/results/faults.json" limit=7200 args=()
for a in "$@"; do
  case "$a" in
    --quick) out="$root/bench/results/faults-quick.json" limit=1800 args+=(--quick) ;;
    *) args+=("$a") ;;
  esac
done
mkdir -p "$build" "$root/bench/results"
echo "building the gateway and the CLI (Release)" >&2
dotnet publish "$root/src/OrleansGateway.Silo" -c Release -o "$build/gateway" --nologo -v quiet -clp:NoSummary >&2
dotnet publish "$root/src/OrleansGateway.Cli" -c Release -o "$build/cli" --nologo -v quiet -clp:NoSummary >&2
cli="$(ls "$build"/cli/*.dll | grep -iE '/(ogw|OrleansGateway\.Cli)\.dll$' | head -1)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec timeout --kill-after=30 "$limit" python3 "$here/faults.py" --root "$root" --gateway-dll "$build/gateway/OrleansGateway.Silo.dll" \
  --cli "dotnet $cli" --out "$out" "${args[@]}"
