"""Checks of the bridging lab (catalog KVM-10). Read-only: kvm01's links and routes (iproute2), the
VM's live and persistent XML, the guest through its agent; the page is fetched from `grader`,
another machine on kvm01's segment (the notes use a browser on the workstation), never from kvm01.

The guest's expected address is the notes' host number 51 on kvm01's network (10.0.1.51 on the
course's 10.0.1.0/24; the `guest_ip` parameter overrides it) and kvm01's NIC is the Ethernet port
that is no bridge or tap (ens33 in the notes; `host_nic` overrides it): see addresses.py.
"""

import pytest

from harness.core import evidence
from labs.bridging.addresses import course_guest_address, host_nics
from labs.common.kvm import default_gateway, domain, guest, guest_run, xml


def _links(kvm01):
    """`ip -o link`: {name: line}, with the @peer suffix of veth names dropped."""
    out = {}
    for line in kvm01.check("ip -o -d link show").splitlines():
        name = line.split(":", 2)[1].strip().split("@")[0]
        out[name] = line
    return out


def _bridge_nics(root, bridge):
    return [i for i in root.iter("interface") if i.get("type") == "bridge"
            and i.find("source") is not None and i.find("source").get("bridge") == bridge]


# --------------------------------------------------------------------------- kvm01


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh iface-bridge ens33 br0：创建网桥 br0，宿主机的 IP（10.0.1.50）移到 br0 上",
                  en="virsh iface-bridge ens33 br0 creates bridge br0 and moves the host's address (10.0.1.50) onto it")
def test_kvm10_bridge_holds_host_address(kvm01, params):
    """br0 is a bridge, up, and holds kvm01's address on the segment."""
    link = _links(kvm01).get(params.bridge)
    assert link is not None, f"there is no {params.bridge} on kvm01"
    assert " bridge " in link, f"{params.bridge} is not a bridge: {link[:200]}"
    assert "state UP" in link or ",UP" in link, f"{params.bridge} is down"
    addrs = kvm01.run("ip -4 -o addr show dev %s", params.bridge).stdout
    want = f" {kvm01.address}/" if kvm01.address else " inet "  # an inventory may give no address
    assert want in addrs, f"{params.bridge} does not hold kvm01's address {kvm01.address or ''}: {addrs.strip() or 'no IPv4 address'}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="宿主机网卡 ens33 要加入 br0（brctl show / bridge link 能看到），且网卡上不再有 IP",
                  en="The host's NIC ens33 must be a port of br0 (brctl show / bridge link) and carry no IP of its own")
def test_kvm10_nic_enslaved(kvm01, params):
    """kvm01's NIC is a port of br0 (master br0) and has no IPv4 address."""
    links = _links(kvm01)
    nics = host_nics(links, params)
    assert nics, f"kvm01 has no Ethernet NIC outside a bridge ({params.host_nic if params.host_nic != 'auto' else 'looked for one that is no bridge, vnetN tap or virbr'})"
    ports = [n for n in nics if f"master {params.bridge} " in links.get(n, "")]
    assert ports, f"none of kvm01's NICs ({', '.join(nics)}) is a port of {params.bridge}: " + \
        "; ".join(links.get(n, "missing")[:160] for n in nics)
    for nic in ports:
        addrs = kvm01.run("ip -4 -o addr show dev %s", nic).stdout.strip()
        assert not addrs, f"{nic} is in {params.bridge} but still has an address: {addrs}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="默认路由要走 br0（ip route 显示 default via 网关 dev br0）",
                  en="The default route must go through br0 (ip route: default via <gateway> dev br0)")
def test_kvm10_default_route_via_bridge(kvm01, params):
    """kvm01's default route leaves through br0."""
    route = kvm01.run("ip -4 route show default").stdout.strip()
    assert f"dev {params.bridge}" in route, f"the default route is {route or 'missing'}"


# --------------------------------------------------------------------------- the VM


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh edit centos7：<interface type='bridge'> 且 <source bridge='br0'/>；改完要 virsh shutdown 再 virsh start（虚拟机内重启不生效）",
                  en="virsh edit centos7: <interface type='bridge'> with <source bridge='br0'/>; then virsh shutdown and virsh start (a reboot inside the guest does not apply it)")
def test_kvm10_vm_on_bridge(kvm01, params):
    """centos7's NIC is type bridge on br0, model virtio, in the running VM and in its config."""
    dom = domain(kvm01, params.vm)
    assert dom.isActive(), f"{params.vm} is not running"
    for label, root in (("running VM", xml(dom)), ("configuration", xml(dom, inactive=True))):
        nics = list(root.iter("interface"))
        on_bridge = _bridge_nics(root, params.bridge)
        assert on_bridge and len(on_bridge) == len(nics), \
            f"the {label}'s NICs are {[(i.get('type'), dict(i.find('source').attrib) if i.find('source') is not None else {}) for i in nics] or 'none'}, expected type bridge on {params.bridge}"
        model = on_bridge[0].find("model")
        assert model is not None and model.get("type") == "virtio", f"the {label}'s NIC model is {model.attrib if model is not None else None}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="虚拟机启动后它的 vnet 设备会自动加入 br0（brctl show 里 br0 下有 vnet0）",
                  en="Once the VM runs, its vnet device joins br0 (brctl show lists vnet0 under br0)")
def test_kvm10_tap_on_bridge(kvm01, params):
    """The VM's tap device (vnetN) is a port of br0."""
    nics = list(xml(domain(kvm01, params.vm)).iter("interface"))
    taps = [t.get("dev") for i in nics for t in i.findall("target")]
    assert taps, f"{params.vm} has no tap device (is it running?)"
    links = _links(kvm01)
    for tap in taps:
        assert f"master {params.bridge} " in links.get(tap, ""), f"{tap} is not in {params.bridge}: {links.get(tap, 'missing')[:200]}"


# --------------------------------------------------------------------------- the guest


@pytest.mark.points(1)
@pytest.mark.hint(zh="宿主机是静态 IP，虚拟机也要配静态 IP：ifcfg-eth0 里 BOOTPROTO=static、IPADDR=10.0.1.51、GATEWAY=10.0.1.2",
                  en="The host is static, so the guest must be too: ifcfg-eth0 with BOOTPROTO=static, IPADDR=10.0.1.51, GATEWAY=10.0.1.2")
def test_kvm10_guest_static_address(kvm01, params):
    """The guest's eth0 holds its static address in kvm01's subnet and routes through kvm01's gateway."""
    want = course_guest_address(kvm01, params)
    assert want is not None, f"kvm01 has no IPv4 address on {params.bridge} or its NIC: the guest's address cannot be derived"
    view = guest(kvm01, params.vm)
    addrs = guest_run(view, "ip -4 -o addr show dev eth0").stdout
    held = [w for w in addrs.split() if "/" in w and w[0].isdigit()]
    assert str(want) in held, f"the guest's eth0 has {', '.join(held) or 'no IPv4 address'}, expected {want} (static, in kvm01's subnet)"
    gw = default_gateway(kvm01)
    route = guest_run(view, "ip -4 route show default").stdout
    assert gw and f"default via {gw} " in route + " ", \
        f"the guest's default route is {route.strip() or 'missing'}: expected default via {gw} (GATEWAY in ifcfg-eth0)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="从另一台机器（浏览器）访问 http://10.0.1.51/ 要看到“超哥教你学kvm”；检查网桥、虚拟机的静态 IP 和虚拟机里的防火墙",
                  en="From another machine (a browser), http://10.0.1.51/ must show the page; check the bridge, the guest's static address and the guest's firewall")
def test_kvm10_page_from_outside(kvm01, grader, params):
    """grader (not kvm01) fetches http://<guest>/ and gets 200 with the course's page."""
    want = course_guest_address(kvm01, params)
    assert want is not None, f"kvm01 has no IPv4 address on {params.bridge} or its NIC: the guest's address cannot be derived"
    ip = str(want.ip)
    res = grader.run("curl -s -m 10 -w '\\n%%{http_code}' http://%s/", ip)
    body, _, code = res.stdout.rpartition("\n")
    evidence.add(f"grader: GET http://{ip}/", f"{code}\n{body[:500]}")
    assert code == "200", f"grader got no page from http://{ip}/ (curl exit {res.rc}, HTTP {code or 'none'})"
    assert params.page.split()[-1] in body, f"the page is {body.strip()[:200]!r}, expected {params.page!r}"
