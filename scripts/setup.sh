#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (root, no systemd) for the lab harness, idempotently:
# apt packages, daemons (dockerd, virtlogd, libvirtd), the Python environment (.venv), and
# the images built offline (host containers, stand-ins, the lab guest). A second run only
# checks and finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export LABHARNESS_CACHE=${LABHARNESS_CACHE:-/var/cache/labharness}
T0=$(date +%s)
say() { printf '[setup %3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (it installs packages and starts daemons)" >&2; exit 2; }

APT_PACKAGES=(
  docker.io libvirt-daemon-system libvirt-clients libvirt-dev pkg-config gcc python3-dev python3-venv
  qemu-system-x86 qemu-utils virtinst debootstrap busybox-static cpio openssh-server openssh-client
  iproute2 iptables dnsmasq-base curl ca-certificates procps tini libxml2-utils chromium fonts-wqy-microhei
  redis-server
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt: installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  say "apt: all ${#APT_PACKAGES[@]} packages present"
fi

# --- daemons (no systemd here: start them by hand when they do not answer)
wait_for() {  # SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "setup.sh: $what did not come up within ${secs}s" >&2; return 1
}
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  wait_for 60 dockerd docker info || { tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  say "starting virtlogd and libvirtd"
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  wait_for 60 libvirtd virsh -c qemu:///system version
fi
say "daemons: dockerd, virtlogd and libvirtd answer"
# /dev/kvm as Debian's udev rule makes it (root:kvm 0660; there is no udev here). Left root-only,
# libvirtd's QEMU probe (run as root) finds KVM while its cache check (as libvirt-qemu) does not,
# so every domain start re-probes QEMU several times: 37 s for a trivial domain, 0.6 s with this.
# Whether guests may use KVM is decided by the harness's boot probe, not by these permissions.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm && say "/dev/kvm: root:kvm 0660 (libvirt's capability cache stays valid)"
fi

# --- Python environment
stamp=.venv/.labharness-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "python: creating .venv and installing the harness"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v 'is ignored' || true
  .venv/bin/pip install -q --disable-pip-version-check -e . 2>&1 | grep -v 'is ignored' || true
  .venv/bin/python -c 'import harness.plugin.hooks, libvirt, docker, testinfra, allure_pytest, xdist, celery, redis' 
  echo "$want" > "$stamp"
else
  say "python: .venv up to date"
fi

# --- the Allure 3 CLI (npm), to render allure-results: the tests check a -j 4 run renders every check
ALLURE_VERSION=3.18.0
if [ "$("$LABHARNESS_CACHE/allure/node_modules/.bin/allure" --version 2>/dev/null)" != "$ALLURE_VERSION" ]; then
  if command -v npm >/dev/null; then
    say "allure: installing the Allure $ALLURE_VERSION CLI (npm)"
    mkdir -p "$LABHARNESS_CACHE/allure"
    npm install --silent --no-audit --no-fund --prefix "$LABHARNESS_CACHE/allure" "allure@$ALLURE_VERSION" >/dev/null \
      || say "allure: npm install failed (the Allure rendering test will say so)"
  else
    say "allure: no npm here (the Allure rendering test will say so)"
  fi
fi

# --- images, built offline and cached by recipe hash
mkdir -p "$LABHARNESS_CACHE"
# the key this machine's harness uses to reach the hosts it makes (sshd in every host container)
if [ ! -s "$LABHARNESS_CACHE/ssh/id_ed25519" ]; then
  install -d -m 700 "$LABHARNESS_CACHE/ssh"
  ssh-keygen -q -t ed25519 -N '' -C labharness -f "$LABHARNESS_CACHE/ssh/id_ed25519"
fi
say "images: host containers and stand-ins"
bash images/build.sh
say "images: lab guest"
bash images/guest/build.sh
say "reaping leftovers of dead runs"
.venv/bin/labctl reap | tail -1
say "done: $REPO is ready (tests: scripts/test.sh; full validation: .venv/bin/labctl validate)"
