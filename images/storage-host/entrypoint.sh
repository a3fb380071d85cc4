#!/bin/bash
# labharness storage-host entrypoint: a tmpfs for GlusterFS bricks on /bricks, sshd, glusterd;
# then writes /run/labharness-ready and stays alive.  Volumes and NFS exports are not made here:
# exporting the shared storage is a step of the lab (gluster volume create/start, or
# /etc/exports + rpc.nfsd + rpc.mountd where the kernel has nfsd).
#
# Environment:
#   LABHARNESS_BRICKS_SIZE=N   size limit of the /bricks tmpfs (default 4g; pages are used on demand)
#   LABHARNESS_READY_TIMEOUT=N seconds to wait for glusterd (default 60)
# Arguments: a command to exec once ready (default: sleep forever).
set -u
# without docker run --init, become tini's child so orphans get reaped
[ $$ = 1 ] && exec /usr/bin/tini -s -- "$0" "$@"

READY=/run/labharness-ready
rm -f "$READY" /run/labharness-failed
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
log() { echo "storage-host: [$(el) s] $*" >&2; }
fail() {
  log "FAILED: $*"
  echo "$*" > /run/labharness-failed
  tail -n 30 /var/log/glusterfs/glusterd.log >&2 2>/dev/null
  exit 1
}

# --- bricks on a tmpfs: fast, and it keeps the trusted.* xattrs GlusterFS needs whatever the
# container's root filesystem is
BRICKS=tmpfs
if ! mountpoint -q /bricks; then
  mount -t tmpfs -o "mode=755,size=${LABHARNESS_BRICKS_SIZE:-4g}" bricks /bricks \
    || { BRICKS="container fs"; log "WARNING: cannot mount a tmpfs on /bricks"; }
fi

# --- sshd (root by key only; host keys generated once per container)
mkdir -p /run/sshd /etc/labharness
for t in ed25519 ecdsa; do
  [ -s /etc/ssh/ssh_host_${t}_key ] || ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key
done
if /usr/sbin/sshd -E /var/log/sshd.log; then SSHD=ok; else SSHD=failed; log "WARNING: sshd did not start"; fi

# --- glusterd
mkdir -p /var/log/glusterfs /run/gluster
glusterd -p /run/glusterd.pid --log-level WARNING || fail "glusterd did not start"
ok=0
for i in $(seq $(( ${LABHARNESS_READY_TIMEOUT:-60} * 20 ))); do
  if gluster --mode=script pool list >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.05
done
[ $ok = 1 ] || fail "glusterd did not answer within ${LABHARNESS_READY_TIMEOUT:-60} s"
log "glusterd answers"

# --- the kernel NFS server exists only where the kernel has nfsd (shared with the machine)
if grep -qw nfsd /proc/filesystems; then NFSD=available; else NFSD="absent (no nfsd in /proc/filesystems)"; fi

{
  echo "role=storage-host"
  echo "glusterd=ok"
  echo "bricks=$BRICKS"
  echo "sshd=$SSHD"
  echo "nfsd=$NFSD"
  echo "seconds=$(el)"
} > "$READY.tmp" && mv "$READY.tmp" "$READY"
log "ready (glusterd=ok bricks=$BRICKS nfsd=$NFSD)"

[ $# -gt 0 ] && exec "$@"
exec sleep infinity
