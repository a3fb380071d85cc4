"""GuestView logic that needs no VM: choosing the way in, parsing, address choice, errors."""

from __future__ import annotations

import time

import pytest

from harness.core.errors import HarnessError
from harness.kvm.agent import AGENT_CHANNEL, agent_channel_state
from harness.kvm.errors import AgentUnavailable
from harness.kvm.guest_parse import count_cpu_list, parse_interfaces
from harness.kvm.guest_ssh import GuestCredentials
from harness.kvm.guest_view import GuestView
from harness.kvm.results import ExecResult


def _xml(channel_state: str | None, with_channel: bool = True) -> str:
    ch = ""
    if with_channel:
        st = f" state='{channel_state}'" if channel_state is not None else ""
        ch = f"<channel type='unix'><target type='virtio' name='{AGENT_CHANNEL}'{st}/></channel>"
    return f"<domain><name>centos7</name><devices>{ch}</devices></domain>"


class FakeDomain:
    def __init__(self, xml: str):
        self._xml = xml

    def name(self) -> str:
        return "centos7"

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802 (libvirt's name)
        return self._xml


class FakeHost:
    name = "kvm01"
    access = None


def test_agent_channel_state():
    assert agent_channel_state(_xml(None, with_channel=False)) is None
    assert agent_channel_state(_xml("disconnected")) == "disconnected"
    assert agent_channel_state(_xml("connected")) == "connected"
    assert agent_channel_state(_xml(None)) == ""


@pytest.mark.parametrize("xml,why", [
    (_xml(None, with_channel=False), "no guest agent channel"),
    (_xml("disconnected"), "guest agent not connected"),
])
def test_no_agent_is_seen_at_once_without_pinging(monkeypatch, xml, why):
    def boom(*a, **k):
        raise AssertionError("must not ping")

    monkeypatch.setattr("harness.kvm.agent.GuestAgent.ping", boom)
    view = GuestView(FakeHost(), FakeDomain(xml))
    t0 = time.monotonic()
    assert view.transport == "ssh"
    assert time.monotonic() - t0 < 0.5
    assert view.why_not_agent == why


def test_connected_agent_that_answers_is_used(monkeypatch):
    pings = []
    monkeypatch.setattr("harness.kvm.agent.GuestAgent.ping", lambda self, timeout=5.0: pings.append(timeout))
    monkeypatch.setattr("harness.kvm.agent.GuestAgent.exec",
                        lambda self, argv, timeout=30.0, **k: ExecResult(3, "out", "err"))
    view = GuestView(FakeHost(), FakeDomain(_xml("connected")))
    res = view.run("false")
    assert view.transport == "agent" and pings == [2.0]
    assert (res.rc, res.stdout, res.stderr) == (3, "out", "err")


def test_agent_that_does_not_answer_falls_back_to_ssh(monkeypatch):
    def ping(self, timeout=5.0):
        raise AgentUnavailable("guest-ping: Guest agent is not responding")

    monkeypatch.setattr("harness.kvm.agent.GuestAgent.ping", ping)
    view = GuestView(FakeHost(), FakeDomain(_xml("connected")))
    assert view.transport == "ssh"
    assert "did not answer" in view.why_not_agent


def test_credentials_hide_the_password():
    c = GuestCredentials("root", "s3cret", None)
    assert "s3cret" not in repr(c) and "s3cret" not in c.describe()
    assert c.describe() == "root's password"
    assert GuestCredentials("root", None, "/k").describe() == "root's key /k"


def test_parse_interfaces_busybox_and_centos():
    text = """LINK eth0 52:54:00:AA:bb:01
LINK lo 00:00:00:00:00:00
LINK eth1 52:54:00:aa:bb:02
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.122.60/24 brd 192.168.122.255 scope global dynamic eth0\\       valid_lft 3000sec
2: eth0    inet6 fe80::5054:ff:feaa:bb01/64 scope link \\       valid_lft forever preferred_lft forever
3: eth1@if7    inet 10.0.1.52/24 brd 10.0.1.255 scope global eth1
"""
    ifs = {i.name: i for i in parse_interfaces(text)}
    assert ifs["eth0"].mac == "52:54:00:aa:bb:01"
    assert ifs["eth0"].ipv4 == ["192.168.122.60/24"]
    assert "fe80::5054:ff:feaa:bb01/64" in ifs["eth0"].addresses
    assert ifs["eth1"].ipv4 == ["10.0.1.52/24"]
    assert ifs["lo"].ipv4 == ["127.0.0.1/8"]


@pytest.mark.parametrize("text,n", [("0\n", 1), ("0-1\n", 2), ("0-1,3\n", 3), ("0,2-5", 5)])
def test_count_cpu_list(text, n):
    assert count_cpu_list(text) == n


def test_errors_are_harness_errors():
    from harness.kvm.errors import GuestLoginRefused, GuestNoAddress, GuestTransportError

    for cls in (GuestLoginRefused, GuestNoAddress, GuestTransportError):
        assert issubclass(cls, HarnessError)


# ------------------------------------------------------------------------ address choice
def test_domain_nics_and_lease_order():
    from harness.kvm.guest_address import domain_nics, lease_addresses

    xml = """<domain><devices>
      <interface type='network'><mac address='52:54:00:AA:00:01'/><source network='default'/></interface>
      <interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='br0'/></interface>
    </devices></domain>"""
    nics = domain_nics(xml)
    assert nics == [("52:54:00:aa:00:01", "network", "default"), ("52:54:00:aa:00:02", "bridge", "br0")]
    macs = [m for m, _, _ in nics]
    # what dom.interfaceAddresses(SRC_LEASE) returns; the second NIC listed first, an IPv6 lease
    leases = {
        "vnet1": {"hwaddr": "52:54:00:aa:00:02", "addrs": [{"type": 0, "addr": "10.0.1.52", "prefix": 24}]},
        "vnet0": {"hwaddr": "52:54:00:AA:00:01", "addrs": [{"type": 1, "addr": "fd00::5", "prefix": 64},
                                                          {"type": 0, "addr": "192.168.122.60", "prefix": 24}]},
    }
    assert lease_addresses(leases, macs) == ["192.168.122.60", "10.0.1.52"]
    assert lease_addresses({}, macs) == [] and lease_addresses(None, macs) == []


def test_arp_addresses():
    from harness.kvm.guest_address import arp_addresses

    text = """IP address       HW type     Flags       HW address            Mask     Device
10.0.1.51        0x1         0x2         52:54:00:aa:00:02     *        br0
192.168.122.77   0x1         0x0         52:54:00:aa:00:01     *        virbr0
192.168.122.60   0x1         0x2         52:54:00:AA:00:01     *        virbr0
172.17.0.2       0x1         0x2         02:42:ac:11:00:02     *        docker0
"""
    macs = ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]
    # incomplete entries (flags 0x0) and other machines' MACs are left out; NIC order
    assert arp_addresses(text, macs) == ["192.168.122.60", "10.0.1.51"]
    assert arp_addresses(text.splitlines()[0], macs) == []


class ViewHost:
    """A KVM host whose ARP table is given; counts how often it is read."""

    name = "kvm01"

    def __init__(self, arp: str = "IP address HW type Flags HW address Mask Device\n"):
        self.arp = arp
        self.reads = 0
        self.guest_sessions: dict = {}
        self.access = None

    def run(self, cmd, *a, timeout=None):
        from types import SimpleNamespace

        self.reads += 1
        return SimpleNamespace(rc=0, stdout=self.arp, stderr="")


class LeaseDomain(FakeDomain):
    def __init__(self, leases: dict):
        super().__init__("<domain><name>centos7</name><devices><interface type='network'>"
                         "<mac address='52:54:00:aa:00:01'/><source network='default'/></interface></devices></domain>")
        self.leases = leases

    def interfaceAddresses(self, source, flags=0):  # noqa: N802
        return self.leases

    def UUIDString(self):  # noqa: N802
        return "u-1"


def test_no_address_is_an_error_naming_the_vm_and_host():
    pytest.importorskip("libvirt")
    from harness.kvm.errors import GuestNoAddress

    view = GuestView(ViewHost(), LeaseDomain({}))
    with pytest.raises(GuestNoAddress) as err:
        view.run("true")
    msg = str(err.value)
    assert msg.startswith("centos7 has no DHCP lease or ARP entry on kvm01: its own view cannot be read"), msg
    assert "no guest agent channel" in msg and "52:54:00:aa:00:01" in msg


def test_lease_first_then_arp_then_errors(monkeypatch):
    pytest.importorskip("libvirt")
    from harness.kvm import guest_ssh
    from harness.kvm.errors import GuestLoginRefused, GuestTransportError

    tried = []

    def connect(host, name, address, creds, timeout):
        tried.append(address)
        if address == "192.168.122.99":
            raise GuestTransportError(f"SSH to guest {name} on kvm01 at {address}:22: connection refused")
        if address == "192.168.122.60" and creds.password != "123456":
            raise GuestLoginRefused(f"guest {name} on kvm01 ({address}) refused {creds.describe()}")

        class S:
            active = True
            fresh = True

            def __init__(self):
                self.address = address

            def run(self, script, timeout=30):
                return ExecResult(0, address, "")

            def close(self):
                pass
        return S()

    monkeypatch.setattr(guest_ssh.GuestSSH, "connect", staticmethod(connect))
    arp = ("IP address HW type Flags HW address Mask Device\n"
           "192.168.122.60 0x1 0x2 52:54:00:aa:00:01 * virbr0\n")
    lease = {"vnet0": {"hwaddr": "52:54:00:aa:00:01", "addrs": [{"type": 0, "addr": "192.168.122.99", "prefix": 24}]}}
    host = ViewHost(arp)
    # a stale lease (nothing answers there): the ARP entry is tried next
    assert GuestView(host, LeaseDomain(lease)).run("x").stdout == "192.168.122.60"
    assert tried == ["192.168.122.99", "192.168.122.60"] and host.reads == 1
    # the next view reuses the cached session: no new connection
    tried.clear()
    GuestView(host, LeaseDomain({"vnet0": {"hwaddr": "52:54:00:aa:00:01",
                                           "addrs": [{"type": 0, "addr": "192.168.122.60", "prefix": 24}]}})).run("x")
    assert tried == []
    # a refused credential is not retried elsewhere and names the credential
    with pytest.raises(GuestLoginRefused, match="refused root's password"):
        GuestView(ViewHost(arp), LeaseDomain({}), credentials=GuestCredentials("root", "nope")).run("x")


def test_credentials_from_the_hosts_access():
    from harness.hosts.host import Access

    class H:
        access = Access(guest_user="admin", guest_password="pw")

    assert GuestCredentials.for_host(H()) == GuestCredentials("admin", "pw", None)
    H.access = Access(guest_key_file="/k")
    assert GuestCredentials.for_host(H()) == GuestCredentials("root", None, "/k")
    H.access = Access()
    assert GuestCredentials.for_host(H()) == GuestCredentials("root", "123456", None)
    assert "pw" not in repr(Access(guest_password="pw"))


# ------------------------------------------------------------------------ the relay script
@pytest.mark.parametrize("tools", [("python3",), ("bash", "cat")])
def test_relay_script_without_socat(tmp_path, tools):
    """The exec-channel relay works with only python3, or only bash + cat (a bare CentOS 7)."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import threading

    from harness.kvm.guest_tunnel import RELAY_SCRIPT

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def echo():
        c, _ = srv.accept()
        c.sendall(b"SSH-2.0-fake\r\n" + c.recv(100))
        c.close()

    threading.Thread(target=echo, daemon=True).start()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for t in tools:  # the real python (pyenv's "python3" is a bash script)
        real = os.path.realpath(sys.executable) if t == "python3" else shutil.which(t)
        os.symlink(real, bin_dir / t)
    sh = shutil.which("sh")
    p = subprocess.run([sh, "-c", RELAY_SCRIPT, "relay", "127.0.0.1", str(port)], input=b"hello",
                       capture_output=True, timeout=20, env={"PATH": str(bin_dir)})
    srv.close()
    assert p.stdout == b"SSH-2.0-fake\r\nhello", (p.stdout, p.stderr)


def test_a_connection_broken_before_the_banner_is_opened_again_within_the_deadline(monkeypatch):
    """The transport is tried again (a guest settling after a revert); a refused login never is."""
    from harness.kvm import guest_ssh
    from harness.kvm.errors import GuestLoginRefused, GuestTransportError

    monkeypatch.setattr(guest_ssh.time, "sleep", lambda s: None)
    calls = []

    def broken_then_ok(fails: int, error):
        def once(cls, host, name, address, creds, timeout):
            calls.append(timeout)
            if len(calls) <= fails:
                raise error()
            return "session"
        return classmethod(once)

    def banner():
        e = GuestTransportError("SSH to guest centos7: Error reading SSH protocol banner")
        e.before_banner = True
        return e

    creds = GuestCredentials("root", "123456", None)
    monkeypatch.setattr(guest_ssh.GuestSSH, "_connect_once", broken_then_ok(2, banner))
    assert guest_ssh.GuestSSH.connect(object(), "centos7", "192.0.2.9", creds, 30) == "session"
    assert len(calls) == 3 and all(t <= 30 for t in calls)

    calls.clear()
    monkeypatch.setattr(guest_ssh.GuestSSH, "_connect_once", broken_then_ok(5, banner))
    with pytest.raises(GuestTransportError, match="banner"):  # at most CONNECT_ATTEMPTS, then ERROR as it is
        guest_ssh.GuestSSH.connect(object(), "centos7", "192.0.2.9", creds, 30)
    assert len(calls) == guest_ssh.GuestSSH.CONNECT_ATTEMPTS

    for error in (lambda: GuestLoginRefused("refused"), lambda: GuestTransportError("no route to host")):
        calls.clear()
        monkeypatch.setattr(guest_ssh.GuestSSH, "_connect_once", broken_then_ok(1, error))
        with pytest.raises((GuestLoginRefused, GuestTransportError)):
            guest_ssh.GuestSSH.connect(object(), "centos7", "192.0.2.9", creds, 30)
        assert len(calls) == 1
