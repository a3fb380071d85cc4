#!/bin/bash
# images/build.sh -- build the lab harness Docker images offline (Debian mirror only), cached.
#
#   images/build.sh            build whatever is missing or out of date (idempotent)
#   images/build.sh --force    rebuild every image (the debootstrap .deb cache is still used)
#
# Environment:
#   LABHARNESS_CACHE   cache dir (default /var/cache/labharness): debootstrap .debs, the trimmed
#                      base rootfs tarball, build logs
#   LABHARNESS_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   DOCKER             docker CLI to use (default: docker)
#
# Every image carries the label org.labharness.recipe = sha256 over the files of its build
# directory (paths, modes, contents) and the id of its base image; an image is rebuilt only when
# that value differs.  Builds use the classic builder (DOCKER_BUILDKIT=0).
# One line per step is printed; the full output of each step goes to $CACHE/logs/<step>.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LABHARNESS_CACHE:-/var/cache/labharness}
MIRROR=${LABHARNESS_MIRROR:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}
SUITE=bookworm
LABEL=org.labharness.recipe
FORCE=0
export DOCKER_BUILDKIT=0

for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

BASE_IMAGE=labharness/debian:bookworm
# docker import changes for the base image (part of its recipe)
BASE_CHANGES=('ENV LANG=C.UTF-8' 'CMD ["/bin/bash"]')

mkdir -p "$CACHE"/{debs,rootfs,logs,work}
exec 9>"$CACHE/build.lock"
flock -n 9 || { echo "build.sh: waiting for another build.sh (lock $CACHE/build.lock)" >&2; flock 9; }

now() { date +%s.%N; }
T_ALL=$(now)
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
say() { printf 'build.sh: %-34s %s\n' "$1" "$2"; }

# run_logged STEP CMD... : run CMD with its output in $CACHE/logs/STEP.log; on failure show the tail
run_logged() {
  local step=$1; shift
  local log="$CACHE/logs/$step.log"
  if ! "$@" >"$log" 2>&1; then
    echo "build.sh: step '$step' FAILED: $*" >&2
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

need() { command -v "$1" >/dev/null 2>&1 || { echo "build.sh: '$1' not found ($2)" >&2; exit 1; }; }
need "$DOCKER" "apt-get install docker.io"
need debootstrap "apt-get install debootstrap"
need flock "util-linux"
need sha256sum "coreutils"
$DOCKER info >/dev/null 2>&1 || { echo "build.sh: '$DOCKER info' fails: is dockerd running?" >&2; exit 1; }

# dir_hash DIR : sha256 over the relative paths, modes and contents of all files under DIR
dir_hash() {
  (cd "$1" && find . -type f -printf '%m %p\n' | LC_ALL=C sort | while read -r mode path; do
     printf '%s %s %s\n' "$mode" "$path" "$(sha256sum < "$path" | cut -c1-64)"
   done) | sha256sum | cut -c1-64
}
image_id() { $DOCKER image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_recipe() { $DOCKER image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
# drop an image id that is no longer tagged (the previous build); ignore failures (in use, ...)
drop_if_dangling() {
  local old=$1
  [ -n "$old" ] || return 0
  [ "$($DOCKER image inspect -f '{{len .RepoTags}}' "$old" 2>/dev/null || echo 1)" = 0 ] || return 0
  $DOCKER image rm "$old" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- base image
build_base() {
  local t0 recipe old tarball rootfs
  t0=$(now)
  recipe=$( { dir_hash "$HERE/base"; echo "debootstrap --variant=minbase $SUITE"; printf '%s\n' "${BASE_CHANGES[@]}"; } \
            | sha256sum | cut -c1-64)
  old=$(image_id "$BASE_IMAGE")
  if [ $FORCE = 0 ] && [ "$(image_recipe "$BASE_IMAGE")" = "$recipe" ]; then
    say "$BASE_IMAGE" "cached ($(secs "$t0") s)"
    return
  fi
  tarball="$CACHE/rootfs/debian-$SUITE-minbase-${recipe:0:16}.tar"
  local how="from cached rootfs tarball"
  if [ $FORCE = 1 ] || [ ! -s "$tarball" ]; then
    rootfs="$CACHE/work/rootfs-$SUITE"
    rm -rf "$rootfs"
    local td; td=$(now)
    run_logged debootstrap debootstrap --variant=minbase --cache-dir="$CACHE/debs" "$SUITE" "$rootfs" "$MIRROR"
    local d_s; d_s=$(secs "$td")
    run_logged finish-rootfs sh "$HERE/base/finish-rootfs.sh" "$rootfs"
    rm -f "$CACHE"/rootfs/debian-"$SUITE"-minbase-*.tar
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    how="debootstrap ${d_s} s"
  fi
  local args=()
  for c in "${BASE_CHANGES[@]}"; do args+=(-c "$c"); done
  args+=(-c "LABEL $LABEL=$recipe")
  run_logged import-base $DOCKER import "${args[@]}" "$tarball" "$BASE_IMAGE"
  [ "$old" = "$(image_id "$BASE_IMAGE")" ] || drop_if_dangling "$old"
  say "$BASE_IMAGE" "built, $how ($(secs "$t0") s)"
}

# ---------------------------------------------------------------- Dockerfile images
# build_image NAME DIR : docker build DIR (classic builder) unless NAME has the right recipe label
build_image() {
  local name=$1 dir=$2 t0 from base_id recipe old step
  t0=$(now)
  from=$(awk 'toupper($1)=="FROM" {print $2; exit}' "$dir/Dockerfile")
  base_id=$(image_id "$from")
  [ -n "$base_id" ] || { echo "build.sh: base image $from of $name is missing" >&2; exit 1; }
  recipe=$( { dir_hash "$dir"; echo "$base_id"; } | sha256sum | cut -c1-64)
  if [ $FORCE = 0 ] && [ "$(image_recipe "$name")" = "$recipe" ]; then
    say "$name" "cached ($(secs "$t0") s)"
    return
  fi
  old=$(image_id "$name")
  step=$(echo "$name" | tr '/:' '__')
  run_logged "$step" $DOCKER build --label "$LABEL=$recipe" -t "$name" "$dir"
  [ "$old" = "$(image_id "$name")" ] || drop_if_dangling "$old"
  say "$name" "built ($(secs "$t0") s)"
}

build_base
build_image labharness/kvm-host:latest        "$HERE/kvm-host"
build_image labharness/docker-host:latest     "$HERE/docker-host"
build_image labharness/storage-host:latest    "$HERE/storage-host"
# Stand-ins: every source image named in standins/map.txt ("labharness/standin-<dir>:<tag> <course name>")
# is built from standins/<dir>/, once, however many course names it stands in for.
STANDINS=()
while read -r src _; do
  case "$src" in ""|"#"*) continue ;; esac
  [[ " ${STANDINS[*]} " == *" $src "* ]] && continue
  STANDINS+=("$src")
  dir=${src#labharness/standin-}
  build_image "$src" "$HERE/standins/${dir%%:*}"
done < "$HERE/standins/map.txt"
# The provisioners save the stand-ins a lab needs themselves (harness/core/artefacts.py: standins_tar,
# one tar per set under $CACHE/standins/); the one big tar of every stand-in earlier builds wrote is not read.
rm -f "$CACHE/standins.tar" "$CACHE/standins.tar.ids"
say "all done" "($(secs "$T_ALL") s, cache $CACHE)"
