#!/usr/bin/env bash
# Builds the fuzz targets (if needed) and runs each for a bounded time.
#
#   tests/fuzz/run_fuzzers.sh <build-dir> <seconds-per-target>
#   e.g. tests/fuzz/run_fuzzers.sh build-fuzz 60
#
# The build dir is configured on first use with clang++-14, -DINFRA_BOT_FUZZ=ON
# and no tests or benches. Each target runs on a temporary copy of its corpus
# (tests/fuzz/corpus/<target>, so the repository is never written) with its
# dictionary, -max_total_time=<seconds> -rss_limit_mb=2048 -timeout=10. A
# crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/crashes/<target>/ for triage, and the script exits 1 once every
# target has run. Needs clang-14, libclang-rt-14-dev and llvm-14 (symbolizer).
#
# Environment:
#   FUZZ_TARGETS         the targets to run (default: all five)
#   INFRA_BOT_SOURCE_DIR the source tree (default: the one holding this script)
#   CXX                  the compiler for a new build dir (default: clang++-14)
#   JOBS                 build parallelism (default: nproc)
#   FUZZ_PARALLEL        targets fuzzed at once (default: nproc)
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
  echo "usage: $0 <build-dir> <seconds-per-target>" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "${INFRA_BOT_SOURCE_DIR:-$here/../..}" && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
seconds=$2
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz_aws_responses fuzz_command_parser fuzz_envelope fuzz_lambda_response fuzz_view_submission}"
crashes=$here/crashes

say() { printf 'run_fuzzers: %s\n' "$*" >&2; }

if ! grep -q 'INFRA_BOT_FUZZ' "$source_dir/CMakeLists.txt"; then
  say "$source_dir/CMakeLists.txt does not add tests/fuzz (option INFRA_BOT_FUZZ); see tests/fuzz/README.md"
  exit 2
fi

started=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
  say "configuring $build (clang, INFRA_BOT_FUZZ=ON)"
  cmake -S "$source_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" -DINFRA_BOT_FUZZ=ON -DINFRA_BOT_TESTS=OFF \
    -DINFRA_BOT_BENCH=OFF >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
fi
say "building ${targets[*]}"
if ! cmake --build "$build" --parallel "${JOBS:-$(nproc)}" --target "${targets[@]}" \
  >"$build/fuzz-build.log" 2>&1; then
  cat "$build/fuzz-build.log" >&2
  exit 1
fi
for target in "${targets[@]}"; do
  usage=$("$build/fuzz/$target" -help=1 2>&1 || true)
  if [[ $usage != *libFuzzer* ]]; then
    say "$build/fuzz/$target is not a libFuzzer binary (the build dir must use clang: CXX=clang++-14)"
    exit 2
  fi
done
built=$(date +%s)
say "build: $((built - started)) s"

# Readable reports: symbolized stacks, UBSan with its stack, no ASan noise
# about the fuzzer's own (intentionally) never-freed fixtures.
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target: its verdict line(s) go to $work/<target>/report, its status to
# $work/<target>/status (0 ok, 1 failed).
run_target() {
  local target=$1 corpus=$work/$1/corpus artifacts=$work/$1/artifacts
  mkdir -p "$corpus" "$artifacts"
  cp -R "$here/corpus/$target/." "$corpus/"
  local dict=$here/dict/json.dict
  [ "$target" = fuzz_command_parser ] && dict=$here/dict/command_parser.dict
  [ "$target" = fuzz_aws_responses ] && dict=$here/dict/aws.dict
  local log=$work/$target/log report=$work/$target/report t0 t1 status=0 found runs cov
  t0=$(date +%s)
  "$build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -dict="$dict" -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
    >"$log" 2>&1 || status=$?
  t1=$(date +%s)
  found=$(find "$artifacts" -type f | wc -l)
  runs=$(grep -a -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -a -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -1 | grep -o 'cov: [0-9]*' || true)
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    mkdir -p "$crashes/$target"
    find "$artifacts" -type f -exec cp {} "$crashes/$target/" \;
    {
      echo "run_fuzzers: $target FAILED (exit $status, $found input(s) saved to tests/fuzz/crashes/$target/) after $((t1 - t0)) s:"
      grep -a -E '==fuzz==|ERROR: |SUMMARY: |runtime error|^    #[0-9]+ ' "$log" |
        cut -c1-400 | head -40 || true
    } >"$report"
    echo 1 >"$work/$target/status"
  else
    echo "run_fuzzers: $target ok: ${runs:-?} runs, ${cov:-cov: ?}, $((t1 - t0)) s" >"$report"
    echo 0 >"$work/$target/status"
  fi
}

# FUZZ_PARALLEL targets at a time (one core each), reported in order.
parallel=${FUZZ_PARALLEL:-$(nproc)}
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait
failed=()
for target in "${targets[@]}"; do
  cat "$work/$target/report" >&2
  [ "$(cat "$work/$target/status" 2>/dev/null || echo 1)" = 0 ] || failed+=("$target")
done

say "total: $(($(date +%s) - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  say "failed: ${failed[*]} (reproduce: $build/fuzz/<target> tests/fuzz/crashes/<target>/<file>)"
  exit 1
fi
