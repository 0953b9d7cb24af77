#!/usr/bin/env bash
# The README's "Manage tenants with ogw" walkthrough, end to end and unattended: starts an echo server on
# 127.0.0.1:9000 and the gateway (memory storage, no config directory, a fresh admin key, API on
# $OGW_WALKTHROUGH_API or http://127.0.0.1:8080), then as the admin creates tenant `demo` with a quota and issues its
# key, and as the tenant applies the spec's and the quickstart's examples, looks at their status and connects through
# them. Everything it started is stopped at the end. Needs the .NET 10 SDK and openssl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
api="${OGW_WALKTHROUGH_API:-http://127.0.0.1:8080}"

"$here/make-dev-cert.sh" >/dev/null
dotnet build "$root/src/OrleansGateway.Cli" --nologo -v quiet -clp:NoSummary
dotnet build "$root/src/OrleansGateway.Silo" --nologo -v quiet -clp:NoSummary
ogw_dll="$root/src/OrleansGateway.Cli/bin/Debug/net10.0/ogw.dll"
ogw() { dotnet "$ogw_dll" "$@"; }
step() { printf '\n$ %s\n' "$*"; }

log="$(mktemp -t ogw-walkthrough-XXXXXX.log)"
dotnet "$ogw_dll" echo --listen 127.0.0.1:9000 >/dev/null &
echo_pid=$!

# The admin key: only in the environment of the gateway and of the admin's ogw calls, never on a command line.
OGW_ADMIN_KEY="$(openssl rand -base64 32)"
export OGW_ADMIN_KEY
dotnet "$root/src/OrleansGateway.Silo/bin/Debug/net10.0/OrleansGateway.Silo.dll" \
  --storage memory --bind-address 127.0.0.1 --api-url "$api" >"$log" 2>&1 &
gateway_pid=$!
trap 'kill "$gateway_pid" "$echo_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true' EXIT

export OGW_SERVER="$api"
for _ in $(seq 1 60); do
  if curl -fs "$api/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$gateway_pid" 2>/dev/null; then echo "the gateway stopped; its log:"; cat "$log"; exit 1; fi
  sleep 1
done
echo "gateway ready on $api (log: $log)"

echo; echo "## As the admin (OGW_TOKEN is the admin key)"
step ogw whoami
OGW_TOKEN="$OGW_ADMIN_KEY" ogw whoami
step ogw tenants create demo --ports 2222,7000-7099,7443 --upstreams "'127.0.0.1,*'" --hosts "'*'" --max-listeners 4 --max-connections 100
OGW_TOKEN="$OGW_ADMIN_KEY" ogw tenants create demo --ports 2222,7000-7099,7443 --upstreams '127.0.0.1,*' --hosts '*' --max-listeners 4 --max-connections 100
step ogw tenants keys issue demo --description walkthrough
issued="$(OGW_TOKEN="$OGW_ADMIN_KEY" ogw tenants keys issue demo --description walkthrough)"
# The token is shown once; the walkthrough keeps it and prints it masked.
OGW_TOKEN="$(printf '%s\n' "$issued" | sed -n 's/^token: //p')"
printf '%s\n' "$issued" | sed "s/^token: \(ogw\.[^.]*\.[^.]*\)\..*/token: \1.<secret, not shown in this log>/"
export OGW_TOKEN

echo; echo "## As the tenant (OGW_TOKEN is demo's key)"
step ogw whoami
ogw whoami
step ogw apply -f examples/spec/1-plain-tcp "   # refused: the quota does not allow port 26257"
(cd "$root" && ogw apply -f examples/spec/1-plain-tcp) || echo "(exit code $?)"

echo; echo "## The admin widens the quota (update replaces it whole)"
step ogw tenants update demo --ports 2222,7000-7099,7443,26257 --upstreams "'127.0.0.1,*'" --hosts "'*'" --max-listeners 4 --max-connections 100
OGW_TOKEN="$OGW_ADMIN_KEY" ogw tenants update demo --ports 2222,7000-7099,7443,26257 --upstreams '127.0.0.1,*' --hosts '*' --max-listeners 4 --max-connections 100
unset OGW_ADMIN_KEY

echo; echo "## The tenant again"
step ogw apply -f examples/spec/1-plain-tcp
(cd "$root" && ogw apply -f examples/spec/1-plain-tcp)
step ogw apply -f examples/spec/2-terminate-tls --dry-run
(cd "$root" && ogw apply -f examples/spec/2-terminate-tls --dry-run)
step ogw delete -f examples/spec/1-plain-tcp
(cd "$root" && ogw delete -f examples/spec/1-plain-tcp)
step ogw apply -f examples/quickstart
(cd "$root" && ogw apply -f examples/quickstart)
step ogw get
ogw get
step ogw status
ogw status

echo; echo "## Connecting through the applied mappings"
step "printf 'hello\n' to 127.0.0.1:7000"
reply=""
for _ in $(seq 1 20); do
  if exec 3<>/dev/tcp/127.0.0.1/7000 2>/dev/null; then
    printf 'hello\n' >&3
    if IFS= read -r -t 2 reply <&3; then exec 3<&-; break; fi
    exec 3<&-
  fi
  sleep 0.5
done
echo "echoed: $reply"
step "openssl s_client -connect 127.0.0.1:7443 -servername demo.localhost"
tls_reply=""
for _ in $(seq 1 20); do
  tls_reply="$( (printf 'hello over tls\n'; sleep 1) | openssl s_client -connect 127.0.0.1:7443 -servername demo.localhost -quiet -no_ign_eof 2>/dev/null || true)"
  if [ -n "$tls_reply" ]; then break; fi
  sleep 0.5
done
echo "echoed: $tls_reply"
step ogw status
ogw status

[ "$reply" = "hello" ] && [ "$tls_reply" = "hello over tls" ] && echo && echo "walkthrough OK"
