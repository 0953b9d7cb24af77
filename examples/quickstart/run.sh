#!/usr/bin/env bash
# Runs the quickstart: makes the dev certificate if missing, starts an echo server on 127.0.0.1:9000 (stopped when
# this script ends) and the gateway on this directory, bound to 127.0.0.1. Extra arguments go to the gateway.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

"$here/make-dev-cert.sh"

dotnet build "$root/src/OrleansGateway.Cli" --nologo -v quiet -clp:NoSummary
dotnet build "$root/src/OrleansGateway.Silo" --nologo -v quiet -clp:NoSummary

dotnet "$root/src/OrleansGateway.Cli/bin/Debug/net10.0/ogw.dll" echo --listen 127.0.0.1:9000 &
echo_pid=$!
trap 'kill "$echo_pid" 2>/dev/null || true' EXIT

dotnet "$root/src/OrleansGateway.Silo/bin/Debug/net10.0/OrleansGateway.Silo.dll" \
  --config-dir "$here" --storage memory --bind-address 127.0.0.1 "$@"
