"""Where the course puts things on kvm01's segment, shared by the solution, the replay and the checks.

The notes' kvm01 is 10.0.1.50 and its guest 10.0.1.51 (seed 000 L931, L1000): the guest takes
host number 51 of kvm01's own network. ``guest_ip=auto`` (the default) keeps that rule on any
segment: kvm01's address with its last octet replaced by 51 — 10.0.1.51 on the course's
10.0.1.0/24, 172.21.0.51 when kvm01 is 172.21.0.2/16 on a Docker network. A class on other
addresses passes ``--lab-param bridging.guest_ip=A.B.C.D``.

``host_nic=auto`` (the default) is kvm01's NIC as a trainer finds it: the Ethernet interface that
is not a bridge, not a VM's tap (vnetN) and not libvirt's virbrN-nic (ens33 in the notes, eth0
in a container).
"""

from __future__ import annotations

import ipaddress

from labs.common.kvm import segment_address

COURSE_GUEST_HOST_NUMBER = 51  # 10.0.1.51 (seed 000 L1000)


def course_guest_address(kvm01, params) -> ipaddress.IPv4Interface | None:
    """The guest's static address with kvm01's prefix, or None when kvm01 has no address to derive it from."""
    here = segment_address(kvm01, params.bridge)
    if params.guest_ip != "auto":
        value = params.guest_ip
        return ipaddress.IPv4Interface(value if "/" in value else f"{value}/{here.network.prefixlen if here else 24}")
    if here is None:
        return None
    octets = str(here.ip).split(".")
    return ipaddress.IPv4Interface(f"{'.'.join(octets[:3])}.{COURSE_GUEST_HOST_NUMBER}/{here.network.prefixlen}")


def host_nics(links: dict[str, str], params) -> list[str]:
    """kvm01's NIC(s): ``host_nic`` when given, else every Ethernet link that is no bridge, tap or libvirt's own.

    ``links``: ``ip -o -d link`` lines by interface name."""
    if params.host_nic != "auto":
        return [params.host_nic]
    nics = []
    for name, line in links.items():
        if "link/ether" not in line or name.startswith(("vnet", "virbr")):
            continue
        # `ip -d` names the kind after the link line: "bridge forward_delay ..." for a bridge,
        # "tun type tap ..." for a VM's tap (a port adds "bridge_slave ...", which is kept)
        if " bridge forward_delay " in line or " tun " in line:
            continue
        nics.append(name)
    return nics
