#!/bin/sh
# finish-rootfs.sh DIR : make a debootstrapped (minbase) tree look like the official
# debian:bookworm image, then trim it.  Called by images/build.sh before `docker import`.
# Recipe: notes/docker.md section 2 (measured: 206 MB raw -> 82 MB trimmed).
set -eu
R=$1
[ -x "$R/bin/sh" ] || { echo "finish-rootfs.sh: $R does not look like a rootfs" >&2; exit 1; }

cat > "$R/etc/apt/sources.list" <<'SRC'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
# same apt tweaks as the official debian:bookworm image
cat > "$R/etc/apt/apt.conf.d/docker-clean" <<'CL'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
CL
echo 'Acquire::Languages "none";' > "$R/etc/apt/apt.conf.d/docker-no-languages"
echo 'APT::Install-Recommends "false";' > "$R/etc/apt/apt.conf.d/docker-no-recommends"
cat > "$R/etc/dpkg/dpkg.cfg.d/docker-nodoc" <<'ND'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
ND
# policy-rc.d: never start services during apt-get install in a build
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"

rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
       "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/tmp/* "$R"/root/.bash_history
find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$R/usr/share/man" "$R/usr/share/info" -type f -delete 2>/dev/null || true
find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
: > "$R/etc/resolv.conf"
: > "$R/etc/hostname"
