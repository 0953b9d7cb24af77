#!/usr/bin/env bash
# One command for the control-plane scale benchmark (docs/scale.md): publishes the gateway (Release), then runs
# bench/scale/scale.py against the real gateway process.
#
#   bench/scale/run.sh --tenants 1000 --mappings 10                  # config directory and API, one shared port, memory
#   bench/scale/run.sh --tenants 100 --ports separate --storage azure --silos 3
#   bench/scale/run.sh --no-build ...                                 # reuse the last published gateway
#
# Options (scale.py --help): --tenants N, --mappings M, --ports shared|separate, --storage memory|azure (Azurite on
# 127.0.0.1:10002: tools/azurite/start.sh), --silos 1|3, --sources config-dir,api, --applies N (100), --out FILE.
# Every process it starts is stopped when it ends, also on Ctrl+C; the whole run is bounded by `timeout`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/.tmp/scale/gateway"

args=() build_it=1
for a in "$@"; do
  case "$a" in
    --no-build) build_it=0 ;;
    *) args+=("$a") ;;
  esac
done

if [ "$build_it" = 1 ] || [ ! -f "$build/OrleansGateway.Silo.dll" ]; then
  echo "publishing the gateway (Release)" >&2
  dotnet publish "$root/src/OrleansGateway.Silo" -c Release -o "$build" --nologo -v quiet -clp:NoSummary >&2
fi
command -v openssl >/dev/null || { echo "openssl is needed (apt-get install openssl)" >&2; exit 2; }

exec timeout --foreground -k 30 3600 /usr/bin/python3 "$here/scale.py" --gateway-dir "$build" "${args[@]}"
