#!/bin/sh
# iface-bridge NIC BRIDGE — what `virsh iface-bridge NIC BRIDGE` does (STP on, delay 0), with
# iproute2, for hosts whose libvirt has no netcf backend (Debian 12's libvirt: "this function is
# not supported by the connection driver: virInterfaceDefineXML"). The NIC's IPv4 addresses and
# the default route move to the bridge, which takes the NIC's MAC address so the host keeps its
# MAC on the segment. Like `virsh iface-bridge` it does not survive a reboot by itself: the notes'
# ifcfg-ens33/ifcfg-br0 files (netcf writes them) are what makes it permanent on CentOS 7.
set -eu
nic=$1
br=$2
if ip link show "$br" >/dev/null 2>&1; then
  echo "iface-bridge: $br already exists" >&2
  exit 1
fi
addrs=$(ip -4 -o addr show dev "$nic" | awk '{print $4}')
gw=$(ip -4 route show default dev "$nic" | awk '{print $3; exit}')
ip link add "$br" type bridge stp_state 1 forward_delay 0
ip link set "$br" address "$(cat "/sys/class/net/$nic/address")"
ip link set "$nic" master "$br"
for a in $addrs; do
  ip addr del "$a" dev "$nic"
  ip addr add "$a" dev "$br"
done
ip link set "$br" up
if [ -n "$gw" ]; then
  ip route replace default via "$gw" dev "$br"
fi
