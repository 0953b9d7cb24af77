#!/usr/bin/env bash
# Makes the quickstart's TLS Secret `demo-cert` (a self-signed certificate for demo.localhost) as demo-cert.yaml,
# unless it already exists (pass --force to remake it). The file is git-ignored: every checkout makes its own key.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/demo-cert.yaml"

if [ -f "$out" ] && [ "${1:-}" != "--force" ]; then
  echo "$out exists (use --force to remake it)"
  exit 0
fi

# Written beside and renamed, so a gateway watching this directory never reads half a file.
dotnet run --project "$root/src/OrleansGateway.Cli" -- \
  dev-cert --host demo.localhost --name demo-cert --out "$out.tmp"
mv "$out.tmp" "$out"
