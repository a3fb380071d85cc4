#!/bin/sh
# Build-time only: start libvirtd once so that it probes QEMU and writes its capabilities cache
# (/var/cache/libvirt/qemu/capabilities/*.xml), then stop it and remove runtime leftovers.
# Runs under tini (PID 1 of the build container) so that the probe's qemu processes are reaped.
set -eu
t0=$(date +%s.%N)
AS=/etc/libvirt/qemu/networks/autostart
# no network autostart in the build container (no NET_ADMIN there); restored below
[ -d $AS ] && mv $AS $AS.prewarm
mkdir -p /run/libvirt
virtlogd -d
libvirtd -d
ok=0
for i in $(seq 1200); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "prewarm: libvirtd did not answer" >&2; exit 1; }
virsh -c qemu:///system capabilities >/dev/null
virsh -c qemu:///system domcapabilities --virttype qemu >/dev/null
t1=$(date +%s.%N)
ls -l /var/cache/libvirt/qemu/capabilities/
for p in libvirtd virtlogd; do
  [ -s /run/$p.pid ] && kill "$(cat /run/$p.pid)" 2>/dev/null || true
done
for i in $(seq 100); do pidof libvirtd virtlogd >/dev/null || break; sleep 0.1; done
[ -d $AS.prewarm ] && mv $AS.prewarm $AS
rm -rf /run/libvirt /run/libvirtd.pid /run/virtlogd.pid
find /var/log/libvirt -type f -delete
awk -v a="$t0" -v b="$t1" 'BEGIN{printf "prewarm: libvirtd answered and probed QEMU in %.1f s\n", b-a}'
