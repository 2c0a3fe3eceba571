#!/usr/bin/env bash
# End-to-end load benchmark: infra-bot side by side with a Bolt-JS app and a raw floor
# client, all driven by the same C++ fake Slack (loadgen) over TLS WebSockets on 127.0.0.1.
# See bench/README.md for what every figure means.
#
#   bench/e2e/run.sh                      # build, run everything (REPS=3), print the table
#   REPS=5 bench/e2e/run.sh               # more repetitions
#   SUBJECTS="infra-bot infra-bot-nodelay floor" SKIP_FOOTPRINT=1 bench/e2e/run.sh
#   bench/e2e/run.sh --report DIR         # only re-print the table of an earlier run
#
# Environment knobs (defaults in brackets):
#   BUILD_DIR [build-bench]  JOBS [2]  REPS [3]  SUBJECTS ["infra-bot bolt floor"]
#   N100 [3000]  N1000 [5000]  NMAX [20000]  WINDOW [256]  NBURST [50000]
#   NFOOT [100000]  FOOT_RATE [1000]  FOOT_SUBJECTS ["infra-bot bolt"]  SKIP_FOOTPRINT [0]
#   SKIP_BUILD [0]  OUT [BUILD_DIR/e2e-results/<time>]
#   INFRA_BOT [BUILD_DIR/app/infra-bot]: another infra-bot binary for the infra-bot column
#   ALT_BOT, ALT_TITLE: binary and column title of the extra subject infra-bot-alt (e.g. an
#     older build, for a before/after table)
# Subjects: infra-bot, bolt, floor; for diagnosis also infra-bot-nodelay (infra-bot with
# TCP_NODELAY forced on by an LD_PRELOAD shim, bench/e2e/nodelay_preload.c),
# infra-bot-alt (ALT_BOT run like infra-bot), infra-bot-refused (infra-bot sent
# `stop prod`, which the policy refuses in the ack: no job, no response_url post) and
# infra-bot-alt-refused (ALT_BOT sent `stop prod`: the ack path of two builds side by side,
#   SUBJECTS="floor infra-bot-refused infra-bot-alt-refused" ALT_BOT=/path/to/older/infra-bot).
set -euo pipefail
# The whole script is one compound command, read before it runs: editing this file while a
# (long) run is going cannot derail that run.
{

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [[ "${1:-}" == "--report" ]]; then
  exec /usr/bin/python3 "$HERE/report.py" "$2/results.jsonl" "${@:3}"
fi

BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
JOBS=${JOBS:-2}
REPS=${REPS:-3}
SUBJECTS=${SUBJECTS:-"infra-bot bolt floor"}
N100=${N100:-3000}
N1000=${N1000:-5000}
NMAX=${NMAX:-20000}
WINDOW=${WINDOW:-256}
NBURST=${NBURST:-50000}
NFOOT=${NFOOT:-100000}
FOOT_RATE=${FOOT_RATE:-1000}
FOOT_SUBJECTS=${FOOT_SUBJECTS:-"infra-bot bolt"}
SKIP_FOOTPRINT=${SKIP_FOOTPRINT:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$BUILD_DIR/e2e-results/$(date +%Y%m%d-%H%M%S)}

say() { printf '== %s\n' "$*" >&2; }

# ---- build ----------------------------------------------------------------------------
if [[ "$SKIP_BUILD" != 1 ]]; then
  if [[ ! -f "$BUILD_DIR/build.ninja" && ! -f "$BUILD_DIR/Makefile" ]]; then
    say "configuring $BUILD_DIR (Release, benches on, tests off)"
    generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    cmake -S "$ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DINFRA_BOT_BENCH=ON -DINFRA_BOT_TESTS=OFF >&2
  fi
  say "building infra-bot, loadgen, floor_client"
  cmake --build "$BUILD_DIR" --target infra-bot loadgen floor_client -j "$JOBS" >&2
fi
BOT=${INFRA_BOT:-$BUILD_DIR/app/infra-bot}
LOADGEN=$BUILD_DIR/bench/e2e/loadgen
FLOOR=$BUILD_DIR/bench/e2e/floor_client
for f in "$BOT" "$LOADGEN" "$FLOOR"; do
  [[ -x "$f" ]] || { echo "missing $f (build first)" >&2; exit 2; }
done

# The Bolt peer: npm ci from the pinned lock file, into the build folder.
NODE=$(command -v node || true)
BOLT_DIR=$BUILD_DIR/bolt
if [[ " $SUBJECTS " == *" bolt "* ]]; then
  [[ -n "$NODE" ]] || { echo "node is needed for the Bolt peer" >&2; exit 2; }
  mkdir -p "$BOLT_DIR"
  cp "$HERE/bolt/app.js" "$BOLT_DIR/app.js"
  if ! cmp -s "$HERE/bolt/package-lock.json" "$BOLT_DIR/package-lock.json" ||
     [[ ! -d "$BOLT_DIR/node_modules/@slack/bolt" ]]; then
    say "npm ci (bench/e2e/bolt/package-lock.json)"
    cp "$HERE/bolt/package.json" "$HERE/bolt/package-lock.json" "$BOLT_DIR/"
    (cd "$BOLT_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
fi

PRELOAD=$BUILD_DIR/bench/e2e/nodelay_preload.so
if [[ " $SUBJECTS " == *" infra-bot-nodelay "* ]]; then
  cc -shared -fPIC -O2 -Wall -o "$PRELOAD" "$HERE/nodelay_preload.c" -ldl
fi

# ---- certificates: a throwaway CA and a server certificate for 127.0.0.1 (ECDSA P-256) ----
TMP=$(mktemp -d "${TMPDIR:-/tmp}/infra-bot-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
(
  cd "$TMP"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj '/CN=infra-bot e2e bench CA'
  openssl ecparam -name prime256v1 -genkey -noout -out server.key
  openssl req -new -key server.key -out server.csr -subj '/CN=localhost'
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n%s\n%s\n' \
    'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' > ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile ext.cnf
) >/dev/null 2>&1
CA=$TMP/ca.pem

# ---- what ran where ----------------------------------------------------------------------
mkdir -p "$OUT/logs"
/usr/bin/python3 -c 'import json,sys; json.dump({"infra-bot-alt": sys.argv[1]}, open(sys.argv[2], "w"))' \
  "${ALT_TITLE:-infra-bot (${ALT_BOT:-alt})}" "$OUT/titles.json"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -sr)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "node: $([[ -n "$NODE" ]] && "$NODE" --version)"
  if [[ -f "$BOLT_DIR/node_modules/@slack/bolt/package.json" ]]; then
    echo "@slack/bolt: $("$NODE" -p "require('$BOLT_DIR/node_modules/@slack/bolt/package.json').version")"
    echo "@slack/socket-mode: $("$NODE" -p "require('$BOLT_DIR/node_modules/@slack/socket-mode/package.json').version")"
  fi
  echo "infra-bot: $BOT: $("$BOT" --version 2>/dev/null | head -1), source HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') + $(git -C "$ROOT" status --short -- lib app 2>/dev/null | wc -l) uncommitted file(s) under lib/ app/"
  [[ " $SUBJECTS " == *" infra-bot-alt"* ]] &&
    echo "infra-bot-alt: $ALT_BOT: ${ALT_TITLE:-}"
  echo "uptime at start: $(uptime)"
  echo "knobs: REPS=$REPS N100=$N100 N1000=$N1000 NMAX=$NMAX WINDOW=$WINDOW NBURST=$NBURST NFOOT=$NFOOT FOOT_RATE=$FOOT_RATE"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# ---- one run -------------------------------------------------------------------------------
# run_one SUBJECT SCENARIO REP: loadgen starts the subject, measures, stops it, prints JSON.
run_one() {
  local subject=$1 scenario=$2 rep=$3
  local args=(--cert "$TMP/server.pem" --key "$TMP/server.key" --settle-ms 2000
              --label "$subject:$scenario:$rep" --subject-log "$OUT/logs/$subject-$scenario-$rep.log")
  local limit
  case "$scenario" in
    r100) args+=(--rate 100 --count "$N100"); limit=$((N100 / 100 + 120)) ;;
    r1000) args+=(--rate 1000 --count "$N1000"); limit=$((N1000 / 1000 + 120)) ;;
    max) args+=(--rate max --window "$WINDOW" --count "$NMAX" --response-timeout-ms 30000)
         limit=$((NMAX / 100 + 120)) ;;
    burst) args+=(--rate max --window 0 --count "$NBURST"); limit=$((NBURST / 100 + 120)) ;;
    footprint)
      args+=(--rate "$FOOT_RATE" --count "$NFOOT" --after-settle-ms 5000
             --rss-checkpoints "10000,50000,100000")
      limit=$((NFOOT / FOOT_RATE + NFOOT / 100 + 180)) ;;
  esac
  local cmd=() env=(SLACK_APP_TOKEN=xapp-1-A0LOADGEN-1-bench SLACK_BOT_TOKEN=xoxb-1-bench)
  case "$subject" in
    infra-bot|infra-bot-nodelay|infra-bot-alt|infra-bot-refused|infra-bot-alt-refused)
      env+=(SSL_CERT_FILE="$CA" INFRA_BACKEND=simulated INFRA_SOCKET_CONNECTIONS=1
            INFRA_COOLDOWN_SECONDS=0 LOG_LEVEL=warn INFRA_HEALTH_PORT=0
            INFRA_HEALTH_ADDRESS=127.0.0.1 INFRA_DRAIN_SECONDS=2 INFRA_ALLOW_EVERYONE=true
            INFRA_READ_RATE_LIMIT=0)
      [[ "$subject" == infra-bot-nodelay ]] && env+=(LD_PRELOAD="$PRELOAD")
      if [[ "$subject" == *-refused ]]; then
        args+=(--text "stop prod")
      else
        args+=(--expect-responses)
      fi
      cmd=("$BOT" run)
      [[ "$subject" == infra-bot-alt* ]] && cmd=("${ALT_BOT:?set ALT_BOT}" run) ;;
    bolt)
      env+=(NODE_EXTRA_CA_CERTS="$CA")
      cmd=("$NODE" "$BOLT_DIR/app.js") ;;
    floor)
      env+=(SSL_CERT_FILE="$CA")
      cmd=("$FLOOR") ;;
    *) echo "unknown subject $subject" >&2; return 2 ;;
  esac
  say "$(date +%H:%M:%S) $subject $scenario #$rep (load $(cut -d' ' -f1 /proc/loadavg))"
  env "${env[@]}" timeout --kill-after=10 "$limit" "$LOADGEN" "${args[@]}" -- "${cmd[@]}" \
    2>>"$OUT/logs/loadgen.err" | tee -a "$OUT/results.jsonl" |
    /usr/bin/python3 -c 'import json,sys
for l in sys.stdin:
    r=json.loads(l); k=["start_to_hello_ms","idle_rss_kb","p50_us","p99_us","max_us","acks_per_s","lost","load_cpu_s","response_posts","error"]
    print("   ", " ".join("%s=%s" % (x, r.get(x)) for x in k if x in r), file=sys.stderr)' || true
}

# Subjects interleaved within each repetition, so that slow drifts of the machine's load
# hit every column alike.
for rep in $(seq 1 "$REPS"); do
  for scenario in r100 r1000 max; do
    for subject in $SUBJECTS; do run_one "$subject" "$scenario" "$rep"; done
  done
  [[ " $SUBJECTS " == *" floor "* ]] && run_one floor burst "$rep"
done
if [[ "$SKIP_FOOTPRINT" != 1 ]]; then
  for rep in $(seq 1 "$REPS"); do
    for subject in $FOOT_SUBJECTS; do
      [[ " $SUBJECTS " == *" $subject "* ]] && run_one "$subject" footprint "$rep"
    done
  done
fi
echo "uptime at end: $(uptime)" >> "$OUT/machine.txt"

echo
cat "$OUT/machine.txt"
echo
/usr/bin/python3 "$HERE/report.py" "$OUT/results.jsonl" | tee "$OUT/table.txt"
/usr/bin/python3 "$HERE/report.py" "$OUT/results.jsonl" --markdown > "$OUT/table.md"
echo
echo "results: $OUT (results.jsonl, table.txt, table.md, logs/)"
exit 0
}
