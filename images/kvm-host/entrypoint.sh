#!/bin/bash
# labharness kvm-host entrypoint: virtlogd + libvirtd (qemu:///system, TCG guests), sshd,
# libvirt's "default" NAT network; then writes /run/labharness-ready and stays alive.
#
# Environment:
#   LABHARNESS_DEFAULT_NET=0       do not start libvirt's default network (default: try it)
#   LABHARNESS_LIBVIRTD_LISTEN=0   unix socket only (default 1: also TCP 16509 without auth, on
#                                  the container's own address, for qemu+tcp:// between lab hosts)
#   LABHARNESS_READY_TIMEOUT=N     seconds to wait for libvirtd (default 120)
# Arguments: a command to exec once ready (default: sleep forever).
set -u
# without docker run --init, become tini's child so orphans (qemu probes, dnsmasq) get reaped
[ $$ = 1 ] && exec /usr/bin/tini -s -- "$0" "$@"

READY=/run/labharness-ready
rm -f "$READY" /run/labharness-failed
T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
log() { echo "kvm-host: [$(el) s] $*" >&2; }
fail() {
  log "FAILED: $*"
  echo "$*" > /run/labharness-failed
  tail -n 30 /var/log/libvirt/libvirtd.log >&2 2>/dev/null
  exit 1
}

# --- libvirt configuration (idempotent; also baked into the image)
# the container's cgroup v1 hierarchies are read-only: libvirt must not use cgroups
grep -q '^cgroup_controllers' /etc/libvirt/qemu.conf || echo 'cgroup_controllers = [ ]' >> /etc/libvirt/qemu.conf
# the container's address on its network (eth0; the lab may later move it onto a bridge br0)
MYIP=$(ip -4 -o addr show dev eth0 scope global 2>/dev/null | awk '{sub("/.*","",$4); print $4; exit}')
# migrations between hosts: every libvirtd needs its own host UUID (there is no SMBIOS here, and
# equal UUIDs make libvirt refuse "to migrate guest to the same host"); incoming migrations listen
# on, and are announced as, the container's address (no hostname lookup on either side)
sed -i -e '/^host_uuid\s*=/d' /etc/libvirt/libvirtd.conf
echo "host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\"" >> /etc/libvirt/libvirtd.conf
sed -i -e '/^migration_address\s*=/d' -e '/^migration_host\s*=/d' /etc/libvirt/qemu.conf
if [ -n "$MYIP" ]; then
  printf 'migration_address = "%s"\nmigration_host = "%s"\n' "$MYIP" "$MYIP" >> /etc/libvirt/qemu.conf
fi
sed -i -e '/^listen_tls\s*=/d' -e '/^listen_tcp\s*=/d' -e '/^auth_tcp\s*=/d' -e '/^listen_addr\s*=/d' /etc/libvirt/libvirtd.conf
if [ "${LABHARNESS_LIBVIRTD_LISTEN:-1}" = 1 ]; then
  printf 'listen_tls = 0\nlisten_tcp = 1\nauth_tcp = "none"\n' >> /etc/libvirt/libvirtd.conf
  [ -n "$MYIP" ] && printf 'listen_addr = "%s"\n' "$MYIP" >> /etc/libvirt/libvirtd.conf
fi
# guest NICs need /dev/net/tun (docker's default device rules allow c 10:200)
if [ ! -c /dev/net/tun ]; then
  mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200 || log "WARNING: cannot create /dev/net/tun"
fi
# GlusterFS mounts (shared storage for migrations) need /dev/fuse
if [ ! -c /dev/fuse ]; then
  mknod -m 666 /dev/fuse c 10 229 || log "WARNING: cannot create /dev/fuse"
fi

# --- virtlogd + libvirtd
mkdir -p /run/libvirt /var/log/libvirt/qemu
rm -f /run/libvirtd.pid /run/virtlogd.pid
virtlogd -d || fail "virtlogd did not start"
if [ "${LABHARNESS_LIBVIRTD_LISTEN:-1}" = 1 ]; then
  libvirtd -d --listen || fail "libvirtd --listen did not start"
else
  libvirtd -d || fail "libvirtd did not start"
fi

# --- sshd (root by key only; host keys generated once per container)
mkdir -p /run/sshd /etc/labharness
for t in ed25519 ecdsa; do
  [ -s /etc/ssh/ssh_host_${t}_key ] || ssh-keygen -q -t $t -N '' -f /etc/ssh/ssh_host_${t}_key
done
if /usr/sbin/sshd -E /var/log/sshd.log; then SSHD=ok; else SSHD=failed; log "WARNING: sshd did not start"; fi

# --- wait for libvirtd's QEMU driver
ok=0
for i in $(seq $(( ${LABHARNESS_READY_TIMEOUT:-120} * 20 ))); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.05
done
[ $ok = 1 ] || fail "virsh -c qemu:///system version did not answer within ${LABHARNESS_READY_TIMEOUT:-120} s"
log "libvirtd answers"

# --- libvirt's default network (virbr0 192.168.122.0/24, NAT); libvirtd autostarts it already
NET=skipped
if [ "${LABHARNESS_DEFAULT_NET:-1}" != 0 ]; then
  if virsh -q -c qemu:///system net-info default 2>/dev/null | grep -q '^Active:.*yes'; then
    NET=active
  elif out=$(virsh -q -c qemu:///system net-start default 2>&1); then
    NET=active
  else
    NET="failed: $(echo "$out" | tr '\n' ' ')"
    log "WARNING: default network: $out"
  fi
fi

{
  echo "role=kvm-host"
  echo "libvirtd=ok"
  echo "sshd=$SSHD"
  echo "default_network=$NET"
  echo "seconds=$(el)"
} > "$READY.tmp" && mv "$READY.tmp" "$READY"
log "ready (sshd=$SSHD default_network=$NET)"

[ $# -gt 0 ] && exec "$@"
exec sleep infinity
