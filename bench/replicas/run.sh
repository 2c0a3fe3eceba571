#!/bin/sh
# What shared DynamoDB state costs per command (issue 18): one replica with INFRA_STATE memory,
# then one on dynalite (through the fault proxy, no faults), same load. Not part of CI.
#
#   cmake --build build --target infra-bot
#   ./dev.sh ...                              # installs dynalite into build/state-tests
#   bench/replicas/run.sh [--commands 3000] [--rate 150]
#
# INFRA_BOT_BINARY overrides the binary (default build/app/infra-bot), INFRA_STATE_NODE_MODULES
# the dynalite install (default build/state-tests/node_modules).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${INFRA_BOT_BINARY:-$root/build/app/infra-bot}
modules=${INFRA_STATE_NODE_MODULES:-$root/build/state-tests/node_modules}
if [ ! -x "$binary" ]; then
  echo "run.sh: no infra-bot binary at $binary; build it first" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import websockets, botocore' 2>/dev/null; then
  echo "run.sh: /usr/bin/python3 lacks websockets or botocore (apt-get install python3-websockets python3-botocore)" >&2
  exit 2
fi
exec /usr/bin/python3 -u "$here/bench.py" --binary "$binary" --dynalite-node-modules "$modules" "$@"
