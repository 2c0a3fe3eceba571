#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $… is meant: dpkg-query formats, bash -c scripts
# The container test (issue 7): builds docker/Dockerfile with podman -- no Docker engine, no
# daemon -- on Debian base images made here with debootstrap, then checks the image without
# running a container (podman cannot run one on these machines): it mounts the image and runs
# the binary in it with chroot, as the image's non-root user.
#
#   bash tests/container/test_image.sh [source-dir]        (ctest -L container runs it)
#
# Needs root (apt-get, debootstrap, podman image mount, chroot); installs podman and
# debootstrap when they are missing. Caching: the two base images are reused while their
# debootstrap date (the tag localhost/infra-bot-base:<variant>-YYYYMMDD) is less than
# INFRA_BOT_BASE_MAX_AGE_DAYS (7) days old; the infra-bot image is built on every run and
# podman's layer cache skips the steps whose inputs did not change (the builder's apt-get).
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
image=localhost/infra-bot:test
builder=localhost/infra-bot-builder:cache
base_repo=localhost/infra-bot-base
max_age_days=${INFRA_BOT_BASE_MAX_AGE_DAYS:-7}
work=${TMPDIR:-/var/tmp}
failures=0
t0=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - t0)); }
ok() { printf '  ok   %s\n' "$*"; }
bad() { printf '  FAIL %s\n' "$*"; failures=$((failures + 1)); }
die() { printf '\ntest_image.sh: %s\n' "$*" >&2; exit 1; }
check() { # check <description> <command…>: one check, printed either way
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
# Runs a noisy command with its output in a log; shows the log's end when it fails.
logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    echo "---- last lines of $log:" >&2
    tail -n 150 "$log" >&2
    return 1
  fi
}

# Everything this script starts or mounts, undone on any exit.
rootfs="" mnt="" base_mnt="" e2e="" fake_pid="" bot_pid=""
cleanup() {
  if [ -n "$bot_pid" ]; then kill -KILL "$bot_pid" 2>/dev/null || true; wait "$bot_pid" 2>/dev/null || true; fi
  if [ -n "$fake_pid" ]; then kill -TERM "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  [ -z "$mnt" ] || ! mountpoint -q "$mnt/tmp" || umount "$mnt/tmp" || true
  [ -z "$mnt" ] || podman image unmount "$image" >/dev/null 2>&1 || true
  [ -z "$base_mnt" ] || podman image unmount docker.io/library/debian:bookworm-slim >/dev/null 2>&1 || true
  [ -z "$rootfs" ] || rm -rf "$rootfs"
  [ -z "$e2e" ] || rm -rf "$e2e"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] ||
  die "needs root (apt-get, debootstrap, podman image mount and chroot); CI runs it as root"
[ -f "$src/docker/Dockerfile" ] || die "no docker/Dockerfile under $src"

# One run at a time: the base images and the image tags are shared.
exec 9>"$work/infra-bot-container-test.lock"
flock 9

# ---- tools --------------------------------------------------------------------------------
step "tools"
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v objdump >/dev/null || missing+=(binutils)
command -v openssl >/dev/null || missing+=(openssl)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=(python3 python3-websockets)
if [ ${#missing[@]} -gt 0 ]; then
  echo "  installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  logged "$work/infra-bot-apt.log" apt-get update ||
    echo "  (apt-get update reported errors; trying the install anyway)"
  logged "$work/infra-bot-apt.log" apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "could not install ${missing[*]}"
fi
echo "  $(podman --version), debootstrap $(dpkg-query -W -f='${Version}' debootstrap)"

# ---- base images: debootstrap --variant=minbase, imported as debian:bookworm(-slim) --------
# The Debian mirrors this machine's apt uses (one-line and deb822 sources).
apt_uri() { # apt_uri <suite>: the first URI serving <suite>
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | awk -v want="$1" '
      /^[ \t]*deb[ \t]/ { sub(/\[[^]]*\]/, ""); if ($3 == want) { print $2; exit } next }
      /^URIs:/   { split("", uris); for (i = 2; i <= NF; i++) uris[i - 1] = $i }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want && (1 in uris)) { print uris[1]; exit } }
      /^[ \t]*$/ { split("", uris) }'  || true
}
mirror=$(apt_uri bookworm); mirror=${mirror:-http://deb.debian.org/debian}
security=$(apt_uri bookworm-security); security=${security:-http://deb.debian.org/debian-security}

# The date of the base image tagged debian:<variant> when it is ours, else nothing.
base_date() {
  local id
  id=$(podman image inspect --format '{{.Id}}' "docker.io/library/debian:$1" 2>/dev/null) || return 0
  podman image inspect --format '{{range .RepoTags}}{{println .}}{{end}}' "$id" |
    sed -n "s|^$base_repo:$1-\([0-9]\{8\}\)\$|\1|p" | sort | tail -n 1
}
fresh() { # fresh <YYYYMMDD>: less than max_age_days old
  [ -n "$1" ] && [ $(( ($(date -u +%s) - $(date -u -d "$1" +%s)) / 86400 )) -lt "$max_age_days" ]
}

# What debuerreotype does to Debian's official images: apt configured for containers,
# sources for bookworm, -updates and -security, and no caches.
containerize() {
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/* "$root"/root/.bash_history
  : >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"
}

# -slim: no docs (but the copyrights), man pages, info or translations, now or later.
slimify() {
  local root=$1
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# The "slim" variant: files containers do not need are not installed.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{groff,info,linda,lintian,locale,man}/*
}

import_base() { # import_base <rootfs> <variant> <date>
  logged "$work/infra-bot-import.log" bash -o pipefail -c \
    'tar -C "$1" --numeric-owner -c . | podman import --change "CMD [\"bash\"]" --message "$2" - "$3"' \
    _ "$1" "debootstrap --variant=minbase bookworm $mirror ($3)" "$base_repo:$2-$3" ||
    die "podman import of $2 failed"
  podman tag "$base_repo:$2-$3" "docker.io/library/debian:$2"
}

step "base images (debootstrap, reused for $max_age_days days)"
full_date=$(base_date bookworm)
slim_date=$(base_date bookworm-slim)
if fresh "$full_date" && fresh "$slim_date"; then
  ok "reusing debian:bookworm ($full_date) and debian:bookworm-slim ($slim_date)"
else
  today=$(date -u +%Y%m%d)
  echo "  debootstrap --variant=minbase bookworm $mirror"
  rootfs=$(mktemp -d "$work/infra-bot-rootfs.XXXXXX")
  logged "$work/infra-bot-debootstrap.log" \
    debootstrap --variant=minbase bookworm "$rootfs/fs" "$mirror" ||
    die "debootstrap failed (log: $work/infra-bot-debootstrap.log)"
  containerize "$rootfs/fs"
  # Older base images lose their tags; their layers go once nothing is built on them.
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "$base_repo" 2>/dev/null); do
    podman untag "$old" "$old" 2>/dev/null || true
  done
  import_base "$rootfs/fs" bookworm "$today"
  slimify "$rootfs/fs"
  import_base "$rootfs/fs" bookworm-slim "$today"
  rm -rf "$rootfs"
  rootfs=""
  ok "made debian:bookworm and debian:bookworm-slim ($today)"
fi

# ---- the image --------------------------------------------------------------------------
version=$(sed -n 's/^project(infra-bot VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || die "no project version in $src/CMakeLists.txt"
revision=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time, not now: the same commit builds the same labels (and layers).
created=$(git -C "$src" log -1 --format=%cI 2>/dev/null || echo unknown)
source_url=$(git -C "$src" remote get-url origin 2>/dev/null || echo unknown)
old_image=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
old_builder=$(podman image inspect --format '{{.Id}}' "$builder" 2>/dev/null || true)
build=(podman build --pull=never --isolation=chroot --format docker --layers
       -f "$src/docker/Dockerfile" --build-arg "VERSION=$version" --build-arg "REVISION=$revision"
       --build-arg "CREATED=$created" --build-arg "SOURCE=$source_url")

step "podman build (builder stage, tagged $builder so that its layers stay cached)"
logged "$work/infra-bot-build.log" "${build[@]}" --target builder -t "$builder" "$src" ||
  die "podman build of the builder stage failed"
step "podman build -t $image"
# The runtime stage is rebuilt every time (it only copies the binary): podman
# 4.3 reuses a cached LABEL layer even when the build args in it changed, so
# a commit whose build context is the same as an earlier one's (a change to
# README or tests only) got the earlier commit's revision and created labels.
# Removing the last image lets its stage's layers go; the builder's stay
# (tagged $builder).
podman rmi "$image" >/dev/null 2>&1 || true
podman image prune -f >/dev/null 2>&1 || true
logged "$work/infra-bot-build.log" "${build[@]}" -t "$image" "$src" ||
  die "podman build failed"
# The images these replaced, unless something else still names them.
for old in "$old_image" "$old_builder"; do
  if [ -n "$old" ] && [ "$(podman image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
done

# ---- the image's configuration ---------------------------------------------------------
step "image configuration (podman image inspect)"
inspect() { podman image inspect --format "$1" "$image"; }
user=$(inspect '{{.Config.User}}')
check "User is 10001 ($user), not root" [ "${user%%:*}" = 10001 ]
check "Entrypoint is [\"infra-bot\"]" [ "$(inspect '{{json .Config.Entrypoint}}')" = '["infra-bot"]' ]
check "Cmd is [\"run\"]" [ "$(inspect '{{json .Config.Cmd}}')" = '["run"]' ]
health=$(inspect '{{json .HealthCheck}}')
check "Healthcheck runs infra-bot healthcheck ($health)" \
  grep -q '"Test":\["CMD","infra-bot","healthcheck"\]' <<<"$health"
check "Healthcheck has an interval, a timeout and a start period" \
  grep -q '"StartPeriod":[1-9].*"Interval":[1-9].*"Timeout":[1-9]' <<<"$health"
check "StopSignal is SIGTERM" [ "$(inspect '{{.Config.StopSignal}}')" = SIGTERM ]
check "only 8080/tcp is exposed" [ "$(inspect '{{json .Config.ExposedPorts}}')" = '{"8080/tcp":{}}' ]
env_json=$(inspect '{{json .Config.Env}}')
check "Env has LOG_FORMAT=json and INFRA_HEALTH_PORT=8080" \
  grep -q '"LOG_FORMAT=json".*"INFRA_HEALTH_PORT=8080"\|"INFRA_HEALTH_PORT=8080".*"LOG_FORMAT=json"' <<<"$env_json"
check "label org.opencontainers.image.version is $version" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" = "$version" ]
check "label org.opencontainers.image.title is infra-bot" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.title"}}')" = infra-bot ]
check "label org.opencontainers.image.licenses is MIT" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.licenses"}}')" = MIT ]
check "label org.opencontainers.image.created is the commit's time ($created)" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.created"}}')" = "$created" ]
check "label org.opencontainers.image.source is $source_url" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.source"}}')" = "$source_url" ]
check "label org.opencontainers.image.revision is $revision" \
  [ "$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')" = "$revision" ]

# ---- inside the image -------------------------------------------------------------------
mnt=$(podman image mount "$image")
# The container's environment: the image's Env and nothing from this shell.
mapfile -t image_env < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
# As Docker does, a PATH when the image sets none.
printf '%s\n' "${image_env[@]}" | grep -q '^PATH=' ||
  image_env+=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
# in_image [VAR=value…] <command…>: as the container would run it, as user 10001.
in_image() {
  local vars=()
  while [[ $1 == [A-Z_]*=* ]]; do vars+=("$1"); shift; done
  env -i "${image_env[@]}" "${vars[@]}" chroot --userspec=10001:10001 "$mnt" "$@"
}
out=$work/infra-bot-image-out.txt

absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }

step "the runtime image holds no build tools"
for f in /usr/bin/g++ /usr/bin/gcc /usr/bin/cc /usr/bin/c++ /usr/bin/cpp /usr/bin/cmake \
         /usr/bin/ninja /usr/bin/make /usr/bin/ld /usr/bin/as /usr/include/boost; do
  check "no $f" absent "$mnt$f"
done
dev_packages=$(chroot "$mnt" dpkg-query -W -f='${Package}\n' | grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|binutils|cmake|make|ninja-build)(-[0-9.]+)?$' || true)
check "no -dev, compiler or binutils packages installed${dev_packages:+: $dev_packages}" [ -z "$dev_packages" ]
check "the binary is stripped" bash -c "! objdump -h '$mnt/usr/local/bin/infra-bot' | grep -q '\.symtab\|\.debug_'"
check "/usr/local/bin/infra-bot is owned by root, not writable by its user" \
  [ "$(stat -c '%u %a' "$mnt/usr/local/bin/infra-bot")" = "0 755" ]
check "user 10001 exists and has no login shell" \
  grep -q '^infra-bot:x:10001:10001:.*:/usr/sbin/nologin$' "$mnt/etc/passwd"
check "CA store present (ca-certificates)" [ -s "$mnt/etc/ssl/certs/ca-certificates.crt" ]

step "every library resolves inside the image, and the runtime packages are exactly what it links"
chroot "$mnt" ldd /usr/local/bin/infra-bot >"$out" 2>&1 || true
sed 's/^/       /' "$out"
check "ldd: no library 'not found'" bash -c "! grep -q 'not found' '$out' && grep -q 'libc.so.6 =>' '$out'"
# The binary's DT_NEEDED → the file ldd resolves in the image → its package (dpkg -S).
needed_packages=()
for lib in $(objdump -p "$mnt/usr/local/bin/infra-bot" | awk '$1 == "NEEDED" { print $2 }'); do
  path=$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3 }' "$out")
  if [[ $path != /* ]]; then
    bad "$lib does not resolve in the image"
    continue
  fi
  real=$(chroot "$mnt" readlink -f "$path" 2>/dev/null || true)
  pkg=""
  for p in "$real" "${real#/usr}" "/usr$real" "$path" "/usr$path"; do
    pkg=$(chroot "$mnt" dpkg -S "$p" 2>/dev/null | sed -n 1p | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  printf '       %-20s %-45s %s\n' "$lib" "$real" "${pkg:-?}"
  [ -n "$pkg" ] || bad "no package owns $lib ($real) in the image"
  needed_packages+=("$pkg")
done
mapfile -t needed_packages < <(printf '%s\n' "${needed_packages[@]}" | sort -u)
# What the Dockerfile installed on top of debian:bookworm-slim by name (apt-mark manual).
base_mnt=$(podman image mount docker.io/library/debian:bookworm-slim)
mapfile -t added < <(comm -13 <(chroot "$base_mnt" apt-mark showmanual | sort) \
                              <(chroot "$mnt" apt-mark showmanual | sort))
echo "       needed: ${needed_packages[*]}"
echo "       added by the Dockerfile: ${added[*]}"
for pkg in "${needed_packages[@]}"; do
  if printf '%s\n' "${added[@]}" | grep -qx "$pkg"; then
    ok "$pkg: installed by the Dockerfile"
  elif chroot "$base_mnt" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
    ok "$pkg: already in debian:bookworm-slim"
  else
    bad "$pkg is needed but neither installed by the Dockerfile nor in the base image"
  fi
done
for pkg in "${added[@]}"; do
  [ "$pkg" = ca-certificates ] && continue
  printf '%s\n' "${needed_packages[@]}" | grep -qx "$pkg" ||
    bad "the Dockerfile installs $pkg, which the binary does not link"
done
podman image unmount docker.io/library/debian:bookworm-slim >/dev/null 2>&1 || true
base_mnt=""

step "smoke test: the binary in the image, as user 10001 with the image's environment"
if in_image infra-bot --version >"$out" 2>&1; then
  check "infra-bot --version prints 'infra-bot $version' ($(cat "$out"))" grep -qx "infra-bot $version" "$out"
else
  bad "infra-bot --version failed: $(cat "$out")"
fi
if in_image infra-bot console -c "/infra status" >"$out" 2>&1; then
  sed 's/^/       /' "$out"
  check "console /infra status shows DEV's services and database" \
    bash -c "grep -q 'Infrastructure Status: DEV' '$out' && grep -q 'api - RUNNING (desired: 2)' '$out' &&
             grep -q 'worker - RUNNING (desired: 1)' '$out' && grep -q 'docustack-dev-db - available' '$out'"
else
  bad "infra-bot console -c '/infra status' failed: $(cat "$out")"
fi
rc=0; in_image infra-bot run >"$out" 2>&1 || rc=$?
check "infra-bot run without Slack tokens exits 2 (exit $rc)" [ "$rc" = 2 ]
check "… naming SLACK_APP_TOKEN" grep -q SLACK_APP_TOKEN "$out"
rc=0; in_image infra-bot >"$out" 2>&1 || rc=$?
check "the default command (run) behaves the same (exit $rc)" [ "$rc" = 2 ]
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
health_port=$(free_port)
rc=0; in_image INFRA_HEALTH_PORT="$health_port" infra-bot healthcheck >"$out" 2>&1 || rc=$?
check "infra-bot healthcheck fails (exit $rc) while nothing serves /readyz" [ "$rc" = 1 ]

step "the service in the image: infra-bot run against the fake Slack (tests/fakes/fake_slack.py)"
# A CA and a server certificate for 127.0.0.1; the CA reaches the image through a read-only
# bind mount on its /tmp (the image mount itself is read-only: readonlyRootFilesystem).
e2e=$(mktemp -d "$work/infra-bot-e2e.XXXXXX")
chmod 755 "$e2e"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$e2e/ext.cnf"
logged "$e2e/openssl.log" bash -ec "cd '$e2e'
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=infra-bot container test CA'
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf
  chmod 644 ca.pem" || die "openssl could not make the test certificates"
mount --bind "$e2e" "$mnt/tmp"
mount -o remount,bind,ro "$mnt/tmp"
check "the whole file system is read-only for it (as the Fargate task's)" \
  bash -c '! touch "$1/.rw-probe" 2>/dev/null && ! touch "$1/tmp/.rw-probe" 2>/dev/null' _ "$mnt"
app_token=xapp-1-A0CONTAINER-1-containertestSECRETAPP
bot_token=xoxb-1-2-containertestSECRETBOT
/usr/bin/python3 -u "$src/tests/fakes/fake_slack.py" --tls "$e2e/server.pem" "$e2e/server.key" \
  --app-token "$app_token" --bot-token "$bot_token" >"$e2e/fake.out" 2>"$e2e/fake.err" &
fake_pid=$!
for _ in $(seq 100); do grep -q '^PORT ' "$e2e/fake.out" && break; sleep 0.1; done
slack_port=$(sed -n 's/^PORT //p' "$e2e/fake.out")
[ -n "$slack_port" ] || { cat "$e2e/fake.err" >&2; die "the fake Slack did not start"; }
bot_env=("SLACK_APP_TOKEN=$app_token" "SLACK_BOT_TOKEN=$bot_token" INFRA_BACKEND=simulated
         "SLACK_API_URL=https://127.0.0.1:$slack_port/api/" SSL_CERT_FILE=/tmp/ca.pem
         "INFRA_HEALTH_PORT=$health_port" INFRA_HEALTH_ADDRESS=127.0.0.1 INFRA_SOCKET_CONNECTIONS=1
         INFRA_ALLOW_EVERYONE=true)
# A plain command, not the function, so that $! is infra-bot itself (env and chroot exec it).
env -i "${image_env[@]}" "${bot_env[@]}" chroot --userspec=10001:10001 "$mnt" infra-bot run \
  >"$e2e/bot.out" 2>"$e2e/bot.err" &
bot_pid=$!
ready=no
for _ in $(seq 60); do
  if in_image INFRA_HEALTH_PORT="$health_port" infra-bot healthcheck >/dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$bot_pid" 2>/dev/null || break
  sleep 0.5
done
check "infra-bot healthcheck exits 0 once the Socket Mode link has its hello" [ "$ready" = yes ]
saw() { grep -Eq "$1" "$e2e/fake.out"; }
check "the fake Slack saw apps.connections.open with the app token, then a WebSocket" \
  saw '"method": ?"apps.connections.open".*"auth": ?"Bearer '"$app_token"'"'
check "… and sent its hello" saw '"event": ?"hello_sent"'
kill -TERM "$bot_pid" 2>/dev/null || true
rc=0; wait "$bot_pid" || rc=$?
bot_pid=""
check "SIGTERM stops it with exit 0 (exit $rc)" [ "$rc" = 0 ]
check "it logs JSON lines on stderr (LOG_FORMAT=json from the image)" \
  /usr/bin/python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()] or sys.exit(1)' "$e2e/bot.err"
check "no token in its output" bash -c '! grep -q -e "$1" -e "$2" "$3" "$4"' _ "$app_token" "$bot_token" "$e2e/bot.out" "$e2e/bot.err"
if [ "$failures" -gt 0 ]; then
  echo "  ---- infra-bot's stderr (last lines):"; tail -n 20 "$e2e/bot.err" | sed 's/^/       /'
  echo "  ---- the fake Slack's stderr (last lines):"; tail -n 20 "$e2e/fake.err" | sed 's/^/       /'
fi
kill -TERM "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
umount "$mnt/tmp"

# ---- result -----------------------------------------------------------------------------
step "done"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "  image $image: $size bytes ($((size / 1000000)) MB); ${SECONDS}s"
if [ "$failures" -gt 0 ]; then
  echo "test_image.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "  all checks passed"
