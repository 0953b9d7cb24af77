#!/usr/bin/env bash
# Runs the quickstart: makes the dev certificate if missing, starts Azurite (the Azure Table storage emulator, data in
# .tmp/azurite; it keeps running, tools/azurite/stop.sh stops it), an echo server on 127.0.0.1:9000 (stopped when this
# script ends) and the gateway on Azure Table storage with this directory as a source, bound to 127.0.0.1, with the
# metrics token of /status and /metrics in .tmp/quickstart/metrics.token.
# Extra arguments go to the gateway.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

"$here/make-dev-cert.sh"
"$root/tools/azurite/start.sh"

dotnet build "$root/src/OrleansGateway.Cli" --nologo -v quiet -clp:NoSummary
dotnet build "$root/src/OrleansGateway.Silo" --nologo -v quiet -clp:NoSummary

# /status and /metrics answer only the admin key or this read-only token (docs/api.md, "Serving the API"); made once.
token="$root/.tmp/quickstart/metrics.token"
if [ ! -s "$token" ]; then
  mkdir -p "$(dirname "$token")"
  (umask 077 && openssl rand -base64 32 >"$token")
fi

dotnet "$root/src/OrleansGateway.Cli/bin/Debug/net10.0/ogw.dll" echo --listen 127.0.0.1:9000 &
echo_pid=$!
trap 'kill "$echo_pid" 2>/dev/null || true' EXIT

dotnet "$root/src/OrleansGateway.Silo/bin/Debug/net10.0/OrleansGateway.Silo.dll" \
  --config-dir "$here" --storage azure --storage-connection-string "UseDevelopmentStorage=true" --bind-address 127.0.0.1 \
  --metrics-token-file "$token" "$@"
