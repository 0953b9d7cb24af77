#!/usr/bin/env bash
# Starts Azurite's Table service (the Azure Table storage emulator the gateway keeps its state in) on loopback and
# waits until it answers. Installs the pinned azurite from package-lock.json first if needed (needs node and npm).
#   AZURITE_TABLE_PORT  table port (default 10002, the port UseDevelopmentStorage=true expects)
#   AZURITE_DIR         data, log and pid folder (default .tmp/azurite in the repository)
# Running it again while that instance is up does nothing. tools/azurite/stop.sh stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${AZURITE_TABLE_PORT:-10002}"
dir="${AZURITE_DIR:-$repo/.tmp/azurite}"
mkdir -p "$dir"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if [ -f "$dir/azurite.pid" ] && kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null && answers; then
  echo "azurite: already running on 127.0.0.1:$port (pid $(cat "$dir/azurite.pid"))"
  exit 0
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "azurite: node and npm are needed (Debian/Ubuntu: apt-get install nodejs npm)" >&2
  exit 1
fi

if [ ! -x "$here/node_modules/.bin/azurite-table" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if answers; then
  # Another Azurite (a developer's own, say) already serves this port: use it; stop.sh leaves it alone.
  echo "azurite: something already answers on 127.0.0.1:$port (not started here); using it"
  exit 0
fi

# setsid: the emulator outlives this script and is not stopped by a Ctrl+C meant for a later command.
setsid "$here/node_modules/.bin/azurite-table" \
  --tableHost 127.0.0.1 --tablePort "$port" --location "$dir" \
  --skipApiVersionCheck --disableTelemetry --loose --silent \
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
