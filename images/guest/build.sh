#!/bin/bash
# images/guest/build.sh — build the tiny lab guest: Debian 12 cloud kernel + busybox initramfs
# with qemu-guest-agent and an SSH server (dropbear). Idempotent and cached.
#
#   images/guest/build.sh [--force]
#
# Output in ${LABHARNESS_CACHE:-/var/cache/labharness}/guest/:
#   vmlinuz      the Debian 12 cloud kernel (from the .deb, never installed on the host)
#   initrd.gz    busybox + the kernel modules the cloud kernel lacks + qemu-ga + dropbear + /init
#   VERSION      sha256 of the recipe (this directory's files, the package versions used);
#                when it matches, nothing is rebuilt
#   KERNEL_RELEASE  e.g. 6.1.0-56-cloud-amd64
#   debs/        the downloaded .debs (kernel, qemu-guest-agent, dropbear-bin + its two
#                libraries), reused across builds
#
# The guest's root password is ${LH_GUEST_ROOT_PASSWORD:-123456} (dropbear allows root to log in
# with it on port 22): the course's notes `ssh root@` into their CentOS VMs but never print the
# password they set in anaconda, so the harness assumes 123456 (harness/kvm/guest_ssh.py
# COURSE_ROOT_PASSWORD; the inventory's guest_password overrides it for a class).
#
# Needs (host, Debian 12): apt-get, dpkg-deb, busybox-static, cpio, gzip, ldd, flock, and the
# Debian 12 libraries qemu-ga links against (libglib2.0-0 & co., present with qemu-system-x86).
# dropbear's own libraries (libtomcrypt1, libtommath1) come from their .debs, the rest
# (libcrypt1, zlib1g) from the host.
# The kernel is NOT installed: its package is `apt-get download`ed and `dpkg-deb -x`ed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LABHARNESS_CACHE:-/var/cache/labharness}
OUT=$CACHE/guest
ARGS=("$@")
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

# Modules the guest loads (dependencies are added automatically; built-ins are skipped).
# virtio_pci/net/blk/console/balloon: devices; virtio_scsi+sd_mod: SCSI disks on a virtio-scsi
# controller; evdev+button: the ACPI power button that `virsh shutdown` presses.
MODULES=(virtio_pci virtio_net virtio_blk virtio_console virtio_balloon virtio_scsi sd_mod evdev button)
ARCH_LIBDIR=/lib/x86_64-linux-gnu
# the SSH server and the libraries it needs that a Debian host may lack (taken from their .debs)
SSH_PKGS=(dropbear-bin libtomcrypt1 libtommath1)
ROOT_PASSWORD=${LH_GUEST_ROOT_PASSWORD:-123456}

log() { echo "build.sh: $*" >&2; }
die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb dpkg-query cpio gzip ldd flock sha256sum; do
  command -v "$tool" >/dev/null || die "missing host tool '$tool'"
done
[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
/bin/busybox --list | grep -qx uevent || die "/bin/busybox lacks applets; need busybox-static"

mkdir -p "$OUT"
chmod 755 "$CACHE" "$OUT"          # libvirt-qemu must be able to read the kernel/initrd
exec 9>"$OUT/.lock"
flock 9                           # concurrent builds (parallel test sessions) wait for each other

# ---- resolve package names + versions (one apt-cache call; update the lists once if empty) ----
# prints: KPKG KVER QGAVER (the kernel package the cloud metapackage's candidate depends on)
resolve() {
  apt-cache show --no-all-versions linux-image-cloud-amd64 qemu-guest-agent 2>/dev/null | awk '
    /^Package: / { p = $2 }
    p == "linux-image-cloud-amd64" && /^Depends: / {
      if (match($0, /linux-image-[0-9][^ ]*-cloud-amd64 \(= [^)]+\)/)) {
        split(substr($0, RSTART, RLENGTH), a, /[ ()=]+/); k = a[1]; kv = a[2] } }
    p == "qemu-guest-agent" && /^Version: / { q = $2 }
    END { if (k != "" && kv != "" && q != "") print k, kv, q }'
}
read -r KPKG KVER QGAVER < <(resolve) || true
if [ -z "${KPKG:-}" ]; then
  log "apt lists know no linux-image-cloud-amd64 / qemu-guest-agent: running apt-get update"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  read -r KPKG KVER QGAVER < <(resolve) || true
fi
[ -n "${KPKG:-}" ] || die "cannot resolve the kernel package of linux-image-cloud-amd64 or qemu-guest-agent via apt-cache"
# candidate versions of the SSH packages, as "pkg=version" words in SSH_PKGS order
resolve_ssh() {
  apt-cache show --no-all-versions "${SSH_PKGS[@]}" 2>/dev/null \
    | awk '/^Package: / { p = $2 } /^Version: / { v[p] = $2 }
           END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (w[i] in v) printf "%s=%s ", w[i], v[w[i]] }' \
          want="${SSH_PKGS[*]}"
}
read -r -a SSH_VERS < <(resolve_ssh) || true
if [ "${#SSH_VERS[@]}" != "${#SSH_PKGS[@]}" ]; then
  log "apt lists lack some of ${SSH_PKGS[*]}: running apt-get update"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  read -r -a SSH_VERS < <(resolve_ssh) || true
fi
[ "${#SSH_VERS[@]}" = "${#SSH_PKGS[@]}" ] || die "cannot resolve ${SSH_PKGS[*]} via apt-cache (got: ${SSH_VERS[*]:-nothing})"
KREL=${KPKG#linux-image-}

# ---- the recipe hash ----------------------------------------------------------------------------
host_versions=$(dpkg-query -W -f='${Package}=${Version}\n' busybox-static libc6 libglib2.0-0 \
                libnuma1 liburing2 libudev1 libpcre2-8-0 2>/dev/null | sort)
VERSION=$( {
  echo "kernel=$KPKG=$KVER"; echo "qemu-guest-agent=$QGAVER"; echo "$host_versions"
  echo "ssh=${SSH_VERS[*]}"; echo "rootpw=$(printf %s "$ROOT_PASSWORD" | sha256sum | cut -c1-16)"
  echo "modules=${MODULES[*]}"
  (cd "$HERE" && find . -type f ! -name '*~' ! -name '*.pyc' | LC_ALL=C sort | xargs sha256sum)
} | sha256sum | cut -c1-16)

if [ $FORCE = 0 ] && [ -f "$OUT/VERSION" ] && [ "$(cat "$OUT/VERSION")" = "$VERSION" ] \
   && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ]; then
  log "up to date ($VERSION, kernel $KREL) in $OUT"
  exit 0
fi
log "building $VERSION: kernel $KPKG $KVER, qemu-guest-agent $QGAVER, ${SSH_VERS[*]}"

# ---- download + extract the .debs ---------------------------------------------------------------
DEBS=$OUT/debs
mkdir -p "$DEBS"
deb_path() { ls "$DEBS/${1}_"*"${2#*:}_amd64.deb" 2>/dev/null | head -1 || true; }
fetch() {   # pkg version: download into $DEBS unless already there
  local pkg=$1 ver=$2
  [ -n "$(deb_path "$pkg" "$ver")" ] && return 0
  if ! (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null); then
    # stale lists: the archive dropped this version (Debian security replaces kernels) ->
    # update once and start over, which re-resolves the versions and the recipe hash
    [ -z "${LH_GUEST_APT_UPDATED:-}" ] || die "apt-get download $pkg=$ver failed"
    log "apt-get download $pkg=$ver failed: updating the apt lists and retrying"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    LH_GUEST_APT_UPDATED=1 exec bash "$HERE/build.sh" "${ARGS[@]}"
  fi
  [ -n "$(deb_path "$pkg" "$ver")" ] || die "apt-get download $pkg=$ver left no .deb in $DEBS"
}
fetch "$KPKG" "$KVER"
fetch qemu-guest-agent "$QGAVER"
KDEB=$(deb_path "$KPKG" "$KVER")
QDEB=$(deb_path qemu-guest-agent "$QGAVER")
KEEP=" $KDEB $QDEB "
SSH_DEBS=()
for pv in "${SSH_VERS[@]}"; do
  fetch "${pv%%=*}" "${pv#*=}"
  d=$(deb_path "${pv%%=*}" "${pv#*=}")
  SSH_DEBS+=("$d"); KEEP="$KEEP$d "
done
# drop .debs of older versions
for f in "$DEBS"/*.deb; do case $KEEP in *" $f "*) ;; *) rm -f "$f" ;; esac; done

WORK=$OUT/.build
rm -rf "$WORK"; mkdir -p "$WORK/kernel" "$WORK/qga" "$WORK/root"
trap 'rm -rf "$WORK"' EXIT
dpkg-deb -x "$KDEB" "$WORK/kernel"
dpkg-deb -x "$QDEB" "$WORK/qga"
mkdir -p "$WORK/ssh"
for d in "${SSH_DEBS[@]}"; do dpkg-deb -x "$d" "$WORK/ssh"; done
KDIR=$WORK/kernel/lib/modules/$KREL
[ -f "$WORK/kernel/boot/vmlinuz-$KREL" ] || die "no /boot/vmlinuz-$KREL in $KDEB"

# ---- the root tree ------------------------------------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,mnt/vda,www,etc,var/log,lib/modules,root}
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
install -m 755 "$HERE/init" "$R/init"
install -m 755 "$HERE/probe" "$R/probe"
install -m 755 "$HERE/hotplug" "$R/sbin/lh-hotplug"
install -m 755 "$HERE/shutdown" "$R/sbin/shutdown"
install -m 755 "$HERE/udhcpc.script" "$R/etc/udhcpc.script"
install -m 644 "$HERE/lib.sh" "$R/lib/labguest.sh"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
# the root password for SSH logins (sha512-crypt, fixed salt: the build stays reproducible)
echo "root:$(/bin/busybox mkpasswd -m sha512 "$ROOT_PASSWORD" labguest):19000:0:99999:7:::" > "$R/etc/shadow"
chmod 600 "$R/etc/shadow"
printf '/bin/sh\n/bin/ash\n' > "$R/etc/shells"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
echo "$KREL" > "$R/etc/labguest-kernel"
echo "$VERSION" > "$R/etc/labguest-version"

# modules: resolve "depends=" from each .ko's .modinfo (no kmod on the host), skip built-ins,
# write them in load order (dependencies first) to /lib/modules/load.order
declare -A SEEN=()
ORDER=()
add_module() {
  local m=$1 f deps d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  f=$(find "$KDIR/kernel" -name "$m.ko" -o -name "${m//_/-}.ko" | head -1)
  if [ -z "$f" ]; then
    grep -qE "/(${m}|${m//_/-})\.ko$" "$KDIR/modules.builtin" && return 0
    die "module $m neither built in nor shipped in $KPKG"
  fi
  deps=$(tr '\0' '\n' < "$f" | sed -n 's/^depends=//p' | head -1)
  for d in ${deps//,/ }; do add_module "$d"; done
  cp "$f" "$R/lib/modules/"
  ORDER+=("$(basename "$f" .ko)")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" > "$R/lib/modules/load.order"

# qemu-ga + the Debian 12 libraries it links against (from the host, same distribution)
install -m 755 "$WORK/qga/usr/sbin/qemu-ga" "$R/usr/sbin/qemu-ga"
missing=$(ldd "$R/usr/sbin/qemu-ga" | awk '/not found/{print $1}')
[ -z "$missing" ] || die "qemu-ga needs libraries missing on this host: $missing (install the Debian 12 packages providing them)"
mkdir -p "$R$ARCH_LIBDIR" "$R/lib64"
for lib in $(ldd "$R/usr/sbin/qemu-ga" | awk '$2=="=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  case $lib in
    */ld-linux-x86-64.so.2) cp -L "$lib" "$R/lib64/ld-linux-x86-64.so.2" ;;
    *) cp -L "$lib" "$R$ARCH_LIBDIR/$(basename "$lib")" ;;
  esac
done

# dropbear (SSH server: `dropbear -R` makes its host key on the first connection) + dropbearkey,
# with libtomcrypt/libtommath from their .debs and the other libraries from the host
install -m 755 "$WORK/ssh/usr/sbin/dropbear" "$R/usr/sbin/dropbear"
install -m 755 "$WORK/ssh/usr/bin/dropbearkey" "$R/usr/bin/dropbearkey"
mkdir -p "$R/etc/dropbear"
SSH_LIBS=$WORK/ssh/usr/lib/x86_64-linux-gnu
for bin in "$R/usr/sbin/dropbear" "$R/usr/bin/dropbearkey"; do
  missing=$(LD_LIBRARY_PATH=$SSH_LIBS ldd "$bin" | awk '/not found/{print $1}')
  [ -z "$missing" ] || die "$(basename "$bin") needs libraries missing on this host: $missing"
  for lib in $(LD_LIBRARY_PATH=$SSH_LIBS ldd "$bin" | awk '$2=="=>" && $3 ~ /^\// {print $3}'); do
    [ -e "$R$ARCH_LIBDIR/$(basename "$lib")" ] || cp -L "$lib" "$R$ARCH_LIBDIR/$(basename "$lib")"
  done
done

# ---- pack + install atomically ------------------------------------------------------------------
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6 > "$WORK/initrd.gz")
cp "$WORK/kernel/boot/vmlinuz-$KREL" "$WORK/vmlinuz"
cp "$WORK/kernel/boot/config-$KREL" "$WORK/config"
chmod 644 "$WORK/vmlinuz" "$WORK/initrd.gz" "$WORK/config"
rm -f "$OUT/VERSION"                               # a half-installed tree never looks current
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initrd.gz" "$OUT/initrd.gz"
mv -f "$WORK/config" "$OUT/config"
echo "$KREL" > "$OUT/KERNEL_RELEASE"
echo "$VERSION" > "$OUT/VERSION.tmp" && mv -f "$OUT/VERSION.tmp" "$OUT/VERSION"
chmod 644 "$OUT/KERNEL_RELEASE" "$OUT/VERSION"
log "done: $OUT (kernel $KREL, initrd $(du -k "$OUT/initrd.gz" | cut -f1) KiB, modules: ${ORDER[*]})"
