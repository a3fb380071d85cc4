"""Finding a guest's IPv4 address without its agent: its NICs' MACs, its DHCP leases, its KVM host's ARP table."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.hosts.host import Host


def domain_nics(xml: str) -> list[tuple[str, str, str]]:
    """(mac, kind, source) of each NIC of a domain XML, in order: kind 'network' (source = the
    libvirt network) or 'bridge' (source = the bridge), else the XML's type and ''."""
    out = []
    for iface in ET.fromstring(xml).iter("interface"):
        mac = iface.find("mac")
        src = iface.find("source")
        kind = iface.get("type", "")
        source = ""
        if src is not None:
            source = src.get("network") or src.get("bridge") or src.get("dev") or ""
        out.append(((mac.get("address") or "").lower() if mac is not None else "", kind, source))
    return out


def lease_addresses(ifaddrs: dict[str, Any] | None, macs: list[str]) -> list[str]:
    """IPv4 addresses of ``dom.interfaceAddresses(source)`` (lease or ARP), in NIC order."""
    found: list[tuple[int, str]] = []
    for iface in (ifaddrs or {}).values():
        mac = (iface.get("hwaddr") or "").lower()
        rank = macs.index(mac) if mac in macs else len(macs)
        for a in iface.get("addrs") or []:
            if a.get("type", 0) == 0 and a.get("addr"):  # VIR_IP_ADDR_TYPE_IPV4
                found.append((rank, a["addr"]))
    return [a for _, a in sorted(found, key=lambda x: x[0])]


def arp_addresses(text: str, macs: list[str]) -> list[str]:
    """IPv4 addresses of the guest's MACs in the KVM host's ARP table (``/proc/net/arp``: IP,
    HW type, flags, MAC, mask, device; flags 0x0 = incomplete), in NIC order."""
    found: list[tuple[int, str]] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 6 or f[3].lower() not in macs or f[2] == "0x0":
            continue
        try:
            ipaddress.IPv4Address(f[0])
        except ValueError:
            continue
        found.append((macs.index(f[3].lower()), f[0]))
    return [a for _, a in sorted(found, key=lambda x: x[0])]


def lease_lookup(domain: Any, macs: list[str]) -> tuple[list[str], str]:
    """IPv4 addresses the domain's libvirt networks leased to it (``virsh domifaddr --source
    lease``), and what was seen (for messages)."""
    import libvirt

    try:
        found = lease_addresses(domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0), macs)
    except libvirt.libvirtError as exc:
        return [], f"leases: {exc.get_error_message()}"
    return found, f"leases: {', '.join(found) or 'none'}"


def arp_lookup(host: Host, macs: list[str]) -> tuple[list[str], str]:
    """IPv4 addresses of the domain's MACs in the KVM host's ARP table (``virsh domifaddr
    --source arp`` reads the same table; /proc/net/arp works with any libvirt version)."""
    res = host.run("cat /proc/net/arp", timeout=15)
    if res.rc != 0:
        return [], f"ARP: unreadable ({res.stderr.strip()[:100]})"
    found = arp_addresses(res.stdout, macs)
    return found, f"ARP: {', '.join(found) or 'none'}"
