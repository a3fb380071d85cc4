#!/bin/bash
# labharness docker-host entrypoint (docker-in-docker, recipe of notes/docker.md 6.3):
# remount /sys and the cgroup v1 hierarchies rw, start sshd and dockerd, wait for `docker info`,
# write /run/labharness-ready, stay alive (dockerd may be restarted with labharness-dockerd);
# on SIGTERM (docker stop) stop dockerd cleanly.
#
# Environment:
#   LABHARNESS_DOCKERD_ARGS   extra dockerd arguments (word-split), e.g. "--insecure-registry 10.0.0.0/8"
#   LABHARNESS_READY_TIMEOUT  seconds to wait for dockerd (default 60)
# Arguments: extra dockerd arguments (one per word), like the dind image of notes/docker.md.
set -u
# without docker run --init, become tini's child so orphaned containerd-shims get reaped
[ $$ = 1 ] && exec /usr/bin/tini -s -- "$0" "$@"

READY=/run/labharness-ready
rm -f "$READY" /run/labharness-failed
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
log() { echo "docker-host: [$(el) s] $*" >&2; }

# --- /sys and the cgroup v1 hierarchies are read-only in a non-privileged container
mount -o remount,rw /sys 2>/dev/null || true
for d in /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$d" 2>/dev/null || true; done
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
mountpoint -q /sys/kernel/security 2>/dev/null || mount -t securityfs none /sys/kernel/security 2>/dev/null || true
if ! awk '$3 == "cgroup" && $4 ~ /^ro(,|$)/ {bad=1} END {exit !bad}' /proc/mounts; then
  CGROUPS=rw
else
  CGROUPS=ro; log "WARNING: cgroup fs still read-only: inner docker run will fail (missing flags?)"
fi

# --- DNS for inner containers: if our resolv.conf only lists loopback resolvers (docker's
# embedded 127.0.0.11 on a user-defined network), inner containers cannot use them and dockerd
# would fall back to 8.8.8.8.  Relay port 53 on our own address to 127.0.0.11 with socat and
# point the inner dockerd there.
DNS=resolv.conf
printf '' > /run/labharness-dockerd.args
if ! grep -E '^\s*nameserver' /etc/resolv.conf | grep -vqE 'nameserver\s+(127\.|::1)'; then
  MYIP=$(ip -4 -o addr show scope global | awk '{sub("/.*","",$4); print $4; exit}')
  if [ -n "$MYIP" ] && grep -qE '^\s*nameserver\s+127\.0\.0\.11' /etc/resolv.conf; then
    setsid socat -T10 UDP4-RECVFROM:53,bind="$MYIP",fork,reuseaddr UDP4-SENDTO:127.0.0.11:53 </dev/null >/dev/null 2>&1 &
    setsid socat TCP4-LISTEN:53,bind="$MYIP",fork,reuseaddr TCP4:127.0.0.11:53 </dev/null >/dev/null 2>&1 &
    printf -- '--dns\n%s\n' "$MYIP" > /run/labharness-dockerd.args
    DNS="relay $MYIP:53 -> 127.0.0.11"
  else
    DNS="loopback only (inner containers get dockerd's default DNS)"
  fi
fi
for a in "$@"; do printf '%s\n' "$a" >> /run/labharness-dockerd.args; done

# --- sshd (root by key only; host keys generated once per container)
mkdir -p /run/sshd /etc/labharness
for t in ed25519 ecdsa; do
  [ -s /etc/ssh/ssh_host_${t}_key ] || ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key
done
if /usr/sbin/sshd -E /var/log/sshd.log; then SSHD=ok; else SSHD=failed; log "WARNING: sshd did not start"; fi

# --- dockerd (a pid file left by a previous run of this container is stale)
rm -f /var/run/docker.pid
if ! /usr/local/sbin/labharness-dockerd start; then
  log "FAILED: dockerd did not answer"
  echo "dockerd did not answer (see /var/log/dockerd.log)" > /run/labharness-failed
  exit 1
fi
{
  echo "role=docker-host"
  echo "dockerd=ok"
  echo "sshd=$SSHD"
  echo "cgroups=$CGROUPS"
  echo "dns=$DNS"
  echo "seconds=$(el)"
} > "$READY.tmp" && mv "$READY.tmp" "$READY"
log "ready (sshd=$SSHD cgroups=$CGROUPS dns=$DNS)"
# docker stop: let the inner dockerd stop its containers and save its state first
trap 'log "SIGTERM: stopping dockerd"; /usr/local/sbin/labharness-dockerd stop; exit 0' TERM INT
sleep infinity &
wait $!
