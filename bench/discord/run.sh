#!/bin/sh
# Discord (issue 17): time from an interaction's dispatch to the bot's initial response, its CPU
# per interaction and its memory; one `infra-bot run` with only Discord configured, against
# tests/fakes/fake_discord.py over TLS. Not part of CI; nothing asserted.
#
#   cmake --build build --target infra-bot
#   bench/discord/run.sh [--interactions 300] [--rate 5] [--workdir DIR]
#
# INFRA_BOT_BINARY overrides the binary (default build/app/infra-bot). The run folder (summary.json,
# the fake's and the bot's logs) is a new /tmp/infra-bot-discord-bench-* unless --workdir is given.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${INFRA_BOT_BINARY:-$root/build/app/infra-bot}
if [ ! -x "$binary" ]; then
  echo "run.sh: no infra-bot binary at $binary; build it first" >&2
  exit 2
fi
if ! /usr/bin/python3 -c 'import websockets, aiohttp' 2>/dev/null; then
  echo "run.sh: /usr/bin/python3 lacks websockets or aiohttp (apt-get install python3-websockets python3-aiohttp)" >&2
  exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
  echo "run.sh: needs the openssl command (the throwaway CA and server certificate)" >&2
  exit 2
fi
exec /usr/bin/python3 -u "$here/bench.py" --binary "$binary" "$@"
