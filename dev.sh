#!/usr/bin/env bash
# infra-bot's two set-up commands (see README.md):
#   ./dev.sh run   install what is missing, build Release, start infra-bot
#                  (the console on the simulated backend unless Slack tokens are exported)
#   ./dev.sh test  install what is missing, build, run every test with ctest
#   ./dev.sh sanitize asan|tsan   the tests under ASan+UBSan (build-asan) or TSan
#                  (build-tsan): tests/sanitizers/run_sanitizers.sh
#   ./dev.sh fuzz [SECONDS]       each libFuzzer target for SECONDS (60) with clang
#                  (build-fuzz): tests/fuzz/run_fuzzers.sh
# Everything comes from Debian's packages and, for the Block Kit type check, npm.
# Test fakes run on Debian's /usr/bin/python3 (botocore checks our SigV4).
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
build=${INFRA_BOT_BUILD_DIR:-$root/build}

packages=(
  g++ cmake ninja-build pkg-config ca-certificates
  libboost-dev libssl-dev libwebsocketpp-dev rapidjson-dev libcurl4-openssl-dev
  libfmt-dev libspdlog-dev libcli11-dev libpugixml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-botocore python3-websockets python3-aiohttp python3-prometheus-client openssl
)

# Only for `./dev.sh fuzz`: clang's libFuzzer and sanitizer runtimes, and the symbolizer.
fuzz_packages=(clang-14 libclang-rt-14-dev llvm-14)

say() { printf 'dev.sh: %s\n' "$*" >&2; }

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Node is only for type-checking Block Kit against @slack/types. Some machines
  # ship their own node+npm, which Debian's npm package conflicts with.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  local as_root=(env DEBIAN_FRONTEND=noninteractive)
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      say "missing packages: ${missing[*]}"
      say "install them as root (apt-get install ${missing[*]}), or install sudo, then rerun"
      exit 1
    fi
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
  fi
  say "installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Runs a noisy step quietly; shows its output only when it fails.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

configure() {
  if [ ! -f "$build/build.ninja" ]; then
    say "configuring $build (Release)"
    quietly cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DINFRA_BOT_TESTS=ON -DINFRA_BOT_WERROR=ON
  fi
}

build_targets() {
  say "building $*"
  quietly cmake --build "$build" --parallel "$(nproc)" --target "$@"
}

# @slack/types + typescript at the versions pinned in the lock file, into the build tree.
install_node_modules() {
  local dir=$build/blockkit-types
  local lock=tests/blockkit-types/package-lock.json
  if [ -d "$dir/node_modules/typescript" ] && [ -d "$dir/node_modules/@slack/types" ] &&
     cmp -s "$lock" "$dir/package-lock.json"; then
    return 0
  fi
  say "installing @slack/types and typescript (npm ci)"
  mkdir -p "$dir"
  cp tests/blockkit-types/package.json "$lock" "$dir/"
  (cd "$dir" && quietly npm ci --no-audit --no-fund --loglevel=error)
}

# discord-api-types + typescript at the versions pinned in the lock file, into the build tree.
install_discord_node_modules() {
  local dir=$build/discord-types
  local lock=tests/discord-types/package-lock.json
  if [ -d "$dir/node_modules/typescript" ] && [ -d "$dir/node_modules/discord-api-types" ] &&
     cmp -s "$lock" "$dir/package-lock.json"; then
    return 0
  fi
  say "installing discord-api-types and typescript (npm ci)"
  mkdir -p "$dir"
  cp tests/discord-types/package.json "$lock" "$dir/"
  (cd "$dir" && quietly npm ci --no-audit --no-fund --loglevel=error)
}

# The deploy checks' npm packages (@cdktf/hcl2json, @cdktf/provider-aws,
# @aws-sdk/client-ecs, @slack/web-api, typescript) at the versions pinned in
# the lock file, into the build tree.
install_deploy_test_modules() {
  local dir=$build/deploy-tests
  local lock=tests/deploy/package-lock.json
  if [ -d "$dir/node_modules/@cdktf/hcl2json" ] && [ -d "$dir/node_modules/@cdktf/provider-aws" ] &&
     [ -d "$dir/node_modules/@aws-sdk/client-ecs" ] && [ -d "$dir/node_modules/@slack/web-api" ] &&
     [ -d "$dir/node_modules/typescript" ] && cmp -s "$lock" "$dir/package-lock.json"; then
    return 0
  fi
  say "installing the deploy checks' npm packages (npm ci)"
  mkdir -p "$dir"
  cp tests/deploy/package.json "$lock" "$dir/"
  (cd "$dir" && quietly npm ci --no-audit --no-fund --loglevel=error)
}

# dynalite (a DynamoDB implementation) at the version pinned in the lock file,
# into the build tree: the shared-state tests and the replicas suite run on it.
install_state_test_modules() {
  local dir=$build/state-tests
  local lock=tests/state/package-lock.json
  if [ -d "$dir/node_modules/dynalite" ] && cmp -s "$lock" "$dir/package-lock.json"; then
    return 0
  fi
  say "installing dynalite (npm ci)"
  mkdir -p "$dir"
  cp tests/state/package.json "$lock" "$dir/"
  (cd "$dir" && quietly npm ci --no-audit --no-fund --loglevel=error)
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    install_packages
    configure
    build_targets infra-bot
    if [ -n "${SLACK_APP_TOKEN:-}" ] && [ -n "${SLACK_BOT_TOKEN:-}" ]; then
      exec "$build/app/infra-bot" run "$@"
    fi
    say "no SLACK_APP_TOKEN/SLACK_BOT_TOKEN exported: starting the console on the simulated backend"
    exec "$build/app/infra-bot" console "$@"
    ;;
  test)
    install_packages
    configure
    build_targets all
    install_node_modules
    install_discord_node_modules
    install_deploy_test_modules
    install_state_test_modules
    # The container image test (root, podman, minutes) runs only when asked
    # for (`./dev.sh test -L container`; .ci/run does after the fast suite).
    [ $# -eq 0 ] && set -- -LE container
    say "running tests"
    ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" "$@"
    ;;
  sanitize)
    install_packages
    case "${1:-}" in
      asan) exec tests/sanitizers/run_sanitizers.sh asan "${INFRA_BOT_ASAN_DIR:-$root/build-asan}" ;;
      tsan) exec tests/sanitizers/run_sanitizers.sh tsan "${INFRA_BOT_TSAN_DIR:-$root/build-tsan}" ;;
      *) echo "usage: ./dev.sh sanitize asan|tsan" >&2; exit 2 ;;
    esac
    ;;
  fuzz)
    packages+=("${fuzz_packages[@]}")
    install_packages
    exec tests/fuzz/run_fuzzers.sh "${INFRA_BOT_FUZZ_DIR:-$root/build-fuzz}" "${1:-60}"
    ;;
  *)
    echo "usage: ./dev.sh run [infra-bot console options]   |   ./dev.sh test [ctest options]" >&2
    echo "       ./dev.sh sanitize asan|tsan   |   ./dev.sh fuzz [seconds per target]" >&2
    exit 2
    ;;
esac
