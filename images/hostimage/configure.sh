#!/bin/sh
# Runs inside the image's chroot (build.sh): units, role links, per-host state removed.
set -eu

has() {  # a unit file, or the template of an instance (getty@tty1.service -> getty@.service)
  [ -e "/lib/systemd/system/$1" ] || [ -e "/etc/systemd/system/$1" ] && return 0
  case $1 in *@*.*) [ -e "/lib/systemd/system/${1%%@*}@.${1##*.}" ] ;; *) return 1 ;; esac
}
only_present() { for u in "$@"; do has "$u" && echo "$u"; done; return 0; }

# ---- boot: only what a lab host needs, and nothing that waits
systemctl enable systemd-networkd.service labharness-hostkeys.service labharness-kvm.service ssh.service >/dev/null 2>&1
# shellcheck disable=SC2046
systemctl mask $(only_present systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer dpkg-db-backup.timer \
  libvirt-guests.service systemd-timesyncd.service \
  getty@tty1.service modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service systemd-pstore.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount nfs-blkmap.service) >/dev/null 2>&1
# journald in memory: nothing to flush to the overlay, faster under TCG
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' > /etc/systemd/journald.conf.d/labharness.conf

# ---- libvirt: TCP without auth for migrations between lab hosts (as the kvm-host container does)
if [ -f /etc/libvirt/libvirtd.conf ]; then
  sed -i -e '/^auth_tcp\s*=/d' /etc/libvirt/libvirtd.conf
  echo 'auth_tcp = "none"' >> /etc/libvirt/libvirtd.conf
fi

# ---- roles: each role's daemons are disabled in the image; the initrd enables a host's roles
# (lh.role= on the kernel command line) by creating exactly the links `systemctl enable` makes.
mkdir -p /usr/lib/labharness/roles
links() { find /etc/systemd/system -type l -printf '%p %l\n' | LC_ALL=C sort; }
role() {  # role units...
  name=$1; shift
  # shellcheck disable=SC2046
  set -- $(only_present "$@")
  [ $# -gt 0 ] || { : > "/usr/lib/labharness/roles/$name.links"; return 0; }
  systemctl disable "$@" >/dev/null 2>&1 || true
  links > /tmp/before
  systemctl enable "$@" >/dev/null 2>&1
  links > /tmp/after
  LC_ALL=C comm -13 /tmp/before /tmp/after > "/usr/lib/labharness/roles/$name.links"
  systemctl disable "$@" >/dev/null 2>&1
  rm -f /tmp/before /tmp/after
}
role kvm-host libvirtd.service libvirtd-tcp.socket virtlogd.service virtlockd.service
role docker-host docker.service docker.socket containerd.service
role storage-host glusterd.service rpcbind.service rpcbind.socket nfs-server.service
# leftovers of the package scripts' own enabling (deb-systemd-helper), if any
for u in docker.service docker.socket containerd.service libvirtd.service glusterd.service nfs-server.service \
         rpcbind.service rpcbind.socket; do
  has "$u" && systemctl disable "$u" >/dev/null 2>&1 || true
done

# ---- per-host identity: made at first boot of each host, never baked in
rm -f /etc/ssh/ssh_host_* /etc/hostname /var/lib/dbus/machine-id /var/lib/glusterd/glusterd.info
: > /etc/machine-id
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
passwd -l root >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /root/.bash_history
