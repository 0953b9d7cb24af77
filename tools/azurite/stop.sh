#!/usr/bin/env bash
# Stops the Azurite that tools/azurite/start.sh started (same AZURITE_DIR). Its data stays in that folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${AZURITE_DIR:-$here/../../.tmp/azurite}"
pidfile="$dir/azurite.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  # SIGINT: the emulator saves its tables and exits; on SIGTERM it dies without saving the last 5 s of writes (its
  # in-memory store saves every 5 s), and a restarted emulator would miss entities the gateway still holds ETags of.
  kill -INT "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
fi
rm -f "$pidfile"
echo "azurite: stopped"
