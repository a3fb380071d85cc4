#!/bin/bash
# images/hostimage/docker-data.sh OUT STANDINS_TAR MAP -- the docker hosts' /var/lib/docker with the
# stand-in images already loaded, as an ext4 file system (label lhdocker) in OUT/docker.qcow2.
#
# `docker load` inside a TCG-emulated host takes minutes (556 MB of layers: 627 s measured under
# load); here a private dockerd (its own data root, exec root and socket; no bridge, no iptables)
# loads them at native speed, once per content of standins.tar and map.txt. Each docker host then
# gets a qcow2 overlay of it as its second disk, mounted at /var/lib/docker by the image's fstab
# (LABEL=lhdocker, nofail).
# The private dockerd runs in a network namespace and a mount namespace of its own (unshare): a
# dockerd started with --bridge=none in this machine's namespace deletes an existing docker0 (and
# with it `docker run` on the default bridge until the machine's dockerd restarts); in its own
# namespace it sees only a loopback, and its layer mounts vanish with it. Its socket is a file, so
# the docker CLI reaches it from here all the same. Without unshare it does not start at all.
# Normally run by harness/provisioners/libvirt/hostimage.py (docker_data), which names OUT by a hash of the inputs.
#   docker-data.sh --check-daemon DIR   only start the private dockerd under DIR, ask it, stop it
#                                       (what tests/integration/test_fault_isolation.py runs)
set -euo pipefail
command -v dockerd >/dev/null || { echo "docker-data.sh: dockerd not found on this machine" >&2; exit 1; }
command -v unshare >/dev/null || { echo "docker-data.sh: unshare (util-linux) not found on this machine" >&2; exit 1; }
CHECK=
if [ "${1:-}" = --check-daemon ]; then
  CHECK=1
  OUT=${2:?usage: docker-data.sh --check-daemon DIR}/check
  mkdir -p "$(dirname "$OUT")"
else
  OUT=${1:?usage: docker-data.sh OUT STANDINS_TAR MAP}
  TAR=${2:?}
  MAP=${3:?}
fi
SIZE=${LH_DOCKER_SIZE:-24G}
unshare --net --mount --propagation private true 2>/dev/null \
  || { echo "docker-data.sh: cannot make a network namespace (unshare --net needs root): refusing to start a dockerd in this machine's own" >&2; exit 1; }
TMP=$OUT.tmp
rm -rf "$TMP"; mkdir -p "$TMP"
W=$(mktemp -d "$(dirname "$OUT")/.dd-XXXXXX")
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID"; for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  # a layer left mounted would keep rm from removing it
  { grep -o " $W/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$W"
  return 0
}
trap cleanup EXIT
mkdir -p "$W/data" "$W/exec"
echo '{}' > "$W/daemon.json"
D=(docker -H "unix://$W/docker.sock")
# unshare execs dockerd (no --fork): $! is dockerd's pid, in namespaces of its own
unshare --net --mount --propagation private \
  dockerd --config-file "$W/daemon.json" --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" \
  -H "unix://$W/docker.sock" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --storage-driver=overlay2 --userland-proxy=false > "$TMP/dockerd.log" 2>&1 &
PID=$!
for _ in $(seq 300); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${D[@]}" version >/dev/null 2>&1 || { echo "docker-data.sh: the private dockerd did not answer:" >&2; tail -20 "$TMP/dockerd.log" >&2; exit 1; }
if [ -n "$CHECK" ]; then
  "${D[@]}" info --format '{{.Name}} {{.DockerRootDir}}' || true
  kill "$PID"; wait "$PID" || true; PID=
  rm -rf "$TMP"
  echo "docker-data.sh: the private dockerd started and stopped"
  exit 0
fi
"${D[@]}" load -q -i "$TAR" > "$TMP/load.log"
while read -r src dst; do
  case "$src" in ""|"#"*) continue ;; esac
  "${D[@]}" tag "$src" "$dst"
done < "$MAP"
"${D[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.ID}}' | LC_ALL=C sort > "$TMP/images.txt"
kill "$PID"; wait "$PID" || true; PID=
# the L1's own dockerd makes its networks (this one had no bridge); nothing else is per-daemon
rm -rf "$W/data/network" "$W/data/tmp" "$W/data/runtimes" "$W/data/containers"/*
mkfs.ext4 -q -F -L lhdocker -E lazy_itable_init=0 -d "$W/data" "$W/docker.raw" "$SIZE"
qemu-img convert -O qcow2 "$W/docker.raw" "$TMP/docker.qcow2"
chmod 644 "$TMP/docker.qcow2"; chmod 755 "$TMP"
rm -rf "$OUT"; mv "$TMP" "$OUT"
echo "docker-data.sh: $OUT ($(wc -l < "$OUT/images.txt") images, $(du -m "$OUT/docker.qcow2" | cut -f1) MiB)"
