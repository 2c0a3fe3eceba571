#!/usr/bin/env bash
# The direct AWS backend's cost per command: how many AWS API calls each /infra command makes and
# how long `infra-bot console -c` takes end to end (process start, credentials, discovery by
# tag, describes, actions), against tests/fakes/fake_aws.py on loopback with its default state
# (proto-fixtures/aws/state_default.json: per environment 2 ECS services, 1 RDS instance, 2 EC2
# instances, 2 security groups; dev also an Aurora cluster). The fake verifies every SigV4
# signature with botocore and every request against botocore's model, so its own CPU is part of
# the latency: read the figures as an upper bound of the bot's share, and the call counts as exact.
#
#   bench/aws/calls.sh [BUILD_DIR] [RUNS]     (defaults: build, 5)
# Prints one row per command: AWS calls (by service) and the median / min wall time of RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${1:-$root/build}
runs=${2:-5}
bin=$build/app/infra-bot
work=$(mktemp -d)
trap 'kill "${fake_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# A throwaway CA and server certificate for 127.0.0.1 (as tests/support/test_tls.hpp makes them).
(
  cd "$work"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj "/CN=bench-ca" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=127.0.0.1" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 1 -extfile ext.cnf >/dev/null 2>&1
)

key=AKIDBENCH
secret=benchSECRETwJalrXUtnFEMI/K7MDENG+bPxRfiCY
/usr/bin/python3 -u tests/fakes/fake_aws.py --tls "$work/server.pem" "$work/server.key" \
  --credentials "$key:$secret" --state proto-fixtures/aws/state_default.json >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 100); do grep -q '^PORT ' "$work/fake.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^PORT //p' "$work/fake.out")
[ -n "$port" ] || { echo "fake_aws.py did not start" >&2; cat "$work/fake.err" >&2; exit 1; }
endpoint="https://127.0.0.1:$port"

run_bot() {
  env -i PATH="$PATH" HOME="$work" INFRA_BACKEND=aws AWS_REGION=eu-west-1 \
    AWS_ENDPOINT_URL="$endpoint" SSL_CERT_FILE="$work/ca.pem" \
    AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_EC2_METADATA_DISABLED=true \
    INFRA_COOLDOWN_SECONDS=0 INFRA_CONSOLE_USER=U0BENCH01 \
    "$bin" console -c "/infra $1" >"$work/reply.txt" 2>"$work/bot.err"
}

reset() { curl -s --cacert "$work/ca.pem" -X POST "$endpoint/_fake/reset" >/dev/null; }

# command | what must be in effect before it (state is reset before every run)
commands=(
  "status dev|"
  "stop dev|"
  "start dev|stop dev"
  "reboot dev|"
  "reboot dev --name=bastion-dev|"
  "teardown dev|"
  "whitelist add 203.0.113.7 --ttl=7d --description='Bench'|"
  "whitelist list dev|whitelist add 203.0.113.7 --ttl=7d"
  "whitelist remove 203.0.113.7|whitelist add 203.0.113.7 --ttl=7d"
  "whitelist refresh dev|whitelist add 203.0.113.7 --ttl=7d"
)

printf '| command | AWS calls | by service | median ms | min ms |\n|---|---|---|---|---|\n'
for entry in "${commands[@]}"; do
  command=${entry%%|*}
  before=${entry#*|}
  times=()
  calls=""
  for _ in $(seq "$runs"); do
    reset
    [ -n "$before" ] && run_bot "$before"
    lines_before=$(wc -l <"$work/fake.out")
    start=$(date +%s%N)
    run_bot "$command" || { echo "failed: $command" >&2; cat "$work/bot.err" >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
    calls=$(tail -n +"$((lines_before + 1))" "$work/fake.out" | /usr/bin/python3 -c '
import collections, json, sys
seen = collections.Counter()
for line in sys.stdin:
    try:
        event = json.loads(line)
    except ValueError:
        continue
    seen[event.get("service")] += 1
total = sum(seen.values())
print(f"{total}|" + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))')
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  median=${sorted[$((${#sorted[@]} / 2))]}
  printf '| `%s` | %s | %s | %s | %s |\n' "$command" "${calls%%|*}" "${calls#*|}" "$median" "${sorted[0]}"
done
