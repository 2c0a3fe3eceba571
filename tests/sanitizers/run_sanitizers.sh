#!/usr/bin/env bash
# Builds infra-bot's tests under a sanitizer and runs them with ctest.
#
#   tests/sanitizers/run_sanitizers.sh asan <build-dir>   # e.g. build-asan
#   tests/sanitizers/run_sanitizers.sh tsan <build-dir>   # e.g. build-tsan
#
# asan  AddressSanitizer + UndefinedBehaviorSanitizer (any UB is fatal): every
#       unit and integration test except the node/deploy/container ones, plus
#       the fuzz corpora replayed once (ctest -L fuzz; g++ has no libFuzzer).
# tsan  ThreadSanitizer: the Socket Mode client, App, Lifecycle, StrandPool, Scheduler, service,
#       EMF and credential-source tests only
#       (the code with threads), building only what they need.
#
# Debug build with g++ (CXX overrides), Ninja, one build dir per sanitizer.
# The Python fakes the integration tests start run unsanitized. Reports are
# fatal (halt_on_error) and name both stacks of a race or deadlock; the only
# suppressions are tests/sanitizers/tsan.supp (third-party code, each line
# explained there). Exit status: ctest's.
#
# Environment:
#   INFRA_BOT_SOURCE_DIR  the source tree (default: the one holding this script)
#   JOBS                  build and ctest parallelism (default: nproc)
#   CTEST_ARGS            extra ctest arguments (e.g. "-R AppTest")
set -euo pipefail

if [ $# -ne 2 ] || { [ "$1" != asan ] && [ "$1" != tsan ]; }; then
  echo "usage: $0 <asan|tsan> <build-dir>" >&2
  exit 2
fi
kind=$1
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "${INFRA_BOT_SOURCE_DIR:-$here/../..}" && pwd)
mkdir -p "$2"
build=$(cd "$2" && pwd)
jobs=${JOBS:-$(nproc)}

say() { printf 'run_sanitizers: %s\n' "$*" >&2; }

case "$kind" in
  asan)
    flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    targets=(all)
    ctest_filter=(-LE 'node|deploy|container|replicas')
    ;;
  tsan)
    flags="-fsanitize=thread"
    targets=(socket_mode_client_test socket_mode_inprocess_test app_test lifecycle_test
             strand_pool_test scheduler_test service_test service_faults_test
             service_lifecycle_test service_aws_test whitelist_sweeper_test redactor_test
             service_metrics_test service_secrets_test emf_test credential_sources_test
             lifecycle_replicas_test delivery_claims_test discord_gateway_test
             discord_gateway_fake_test discord_front_test discord_conversation_test
             service_discord_test infra-bot)
    ctest_filter=(-R 'SocketMode|AppTest|GateTest|Lifecycle|StrandPool|Scheduler|Service|WhitelistSweeper|Redactor|Emf|CredentialSources|DeliveryClaims|DiscordGateway|DiscordFront|DiscordConversation')
    ;;
esac

started=$(date +%s)
# Reconfigure when the flags differ (a build dir belongs to one sanitizer).
if [ ! -f "$build/build.ninja" ] ||
   ! grep -qxF "CMAKE_CXX_FLAGS:STRING=$flags" "$build/CMakeCache.txt"; then
  say "configuring $build ($kind, Debug)"
  # INFRA_BOT_FUZZ: with g++ the fuzz targets replay their corpus as tests.
  cmake -S "$source_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DCMAKE_CXX_FLAGS="$flags" \
    -DINFRA_BOT_TESTS=ON -DINFRA_BOT_BENCH=OFF -DINFRA_BOT_FUZZ="$([ "$kind" = asan ] && echo ON || echo OFF)" \
    >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
fi
say "building ${targets[*]}"
if ! cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1; then
  grep -E 'error|Error' "$build/build.log" | head -40 >&2
  say "build failed; full log: $build/build.log"
  exit 1
fi
built=$(date +%s)
say "build: $((built - started)) s"

# Reports: fatal at the first one, with full stacks. LSan runs at exit (asan).
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1
tsan_options=halt_on_error=1:second_deadlock_stack=1:history_size=4:print_summary=1
if [ -f "$here/tsan.supp" ]; then
  tsan_options+=":suppressions=$here/tsan.supp"
fi
export TSAN_OPTIONS=$tsan_options

status=0
# shellcheck disable=SC2086 # CTEST_ARGS is a list of words
ctest --test-dir "$build" --output-on-failure --parallel "$jobs" "${ctest_filter[@]}" \
  ${CTEST_ARGS:-} || status=$?
finished=$(date +%s)
say "$kind: build $((built - started)) s, tests $((finished - built)) s, total $((finished - started)) s"
exit "$status"
