#!/usr/bin/env bash
# What the test suite must leave on this machine as it found it: firewall rules, mounts, network
# links, Docker containers/networks/volumes and libvirt domains/networks/pools, as sorted text
# without counters or timestamps. scripts/test.sh writes it before and after the suite and diffs.
set -uo pipefail
section() { printf '\n## %s\n' "$1"; }
section "iptables (nft)"
iptables-save 2>/dev/null | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//' | sort
section "ip6tables (nft)"
ip6tables-save 2>/dev/null | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//' | sort
section "mounts"
awk '{print $2, $3}' /proc/self/mounts | sort
section "links"
ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
if docker info >/dev/null 2>&1; then
  section "docker containers"; docker ps -a --format '{{.Names}} {{.Image}}' | sort
  section "docker networks"; docker network ls --format '{{.Name}}' | sort
  section "docker volumes"; docker volume ls -q | sort
fi
if virsh -c qemu:///system version >/dev/null 2>&1; then
  section "libvirt domains"; virsh -c qemu:///system list --all --name | sed '/^$/d' | sort
  section "libvirt networks"; virsh -c qemu:///system net-list --all --name | sed '/^$/d' | sort
  section "libvirt pools"; virsh -c qemu:///system pool-list --all --name | sed '/^$/d' | sort
fi
exit 0
