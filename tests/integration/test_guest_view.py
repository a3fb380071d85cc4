"""GuestView for real: a lab guest with no agent, read over SSH through its KVM host.

One container-provisioned KVM host (``labharness/kvm-host``, as validate mode makes it) runs one
lab guest (128 MiB, TCG) on libvirt's ``default`` network, booted with no agent channel and no
network argument (DHCP, as the course's virt-install leaves it) and ``guestagent=0``. The tests:

- ``cat /proc/cmdline`` over SSH through ``docker exec`` on the KVM host (first and next command
  timed), with the address from the guest's DHCP lease;
- a wrong password is :class:`GuestLoginRefused` naming the credential, not a FAIL or a hang;
- an agent channel hot-plugged with no agent behind it is "not connected": seen in < 3 s, and
  the view falls back to SSH.

Figures go to the log (``-o log_cli=true``) and to ``reports/bench/guest_view.txt``.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.kvm.agent import AGENT_CHANNEL
from harness.kvm.domain_xml import Nic, domain_xml
from harness.kvm.errors import ExecTimeout, GuestLoginRefused, GuestNoAddress, GuestTransportError
from harness.kvm.guest_image import GuestImage
from harness.kvm.guest_ssh import MAX_OUTPUT, GuestCredentials
from harness.kvm.guest_view import GuestView
from harness.provisioners.container import ContainerProvisioner
from harness.core.runs import RunLock, new_run_id
from labs.vm_basics import LAB

libvirt = pytest.importorskip("libvirt")

pytestmark = [pytest.mark.slow]
log = logging.getLogger(__name__)
TARGET = "guestview"
BOOT = "/var/lib/libvirt/boot"
VM = "gvssh"
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def kvm01():
    run_id = f"gv-{new_run_id()}"
    lock = RunLock(run_id)
    lock.acquire()
    prov = ContainerProvisioner(run_id=run_id)
    try:
        hosts = prov.create(LAB, TARGET)  # vm_basics: one kvm01, nothing else
        yield hosts["kvm01"]
        for h in hosts.values():
            h.close()
    finally:
        prov.destroy(LAB, TARGET)
        lock.release()
        if FIGURES:
            out = Path(__file__).resolve().parents[2] / "reports" / "bench" / "guest_view.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("".join(f"{k}: {v:.2f}\n" for k, v in FIGURES.items()))


@pytest.fixture(scope="module")
def dom(kvm01):
    """The guest: no agent channel (a virtio-serial controller, so one can be hot-plugged later)."""
    kvm01.check("mkdir -p %s && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz %s/", BOOT, BOOT)
    image = GuestImage(Path(BOOT, "vmlinuz"), Path(BOOT, "initrd.gz"))
    root = ET.fromstring(domain_xml(VM, image, nics=[Nic("default")], memory_mib=128, cmdline_extra="guestagent=0"))
    devices = root.find("devices")
    for ch in devices.findall("channel"):
        devices.remove(ch)
    ET.SubElement(devices, "controller", type="virtio-serial", index="0")
    t0 = time.monotonic()
    d = kvm01.libvirt.createXML(ET.tostring(root, encoding="unicode"), 0)
    FIGURES["domain start (s)"] = time.monotonic() - t0
    yield d
    try:
        d.destroy()
    except libvirt.libvirtError:
        pass


def _first_contact(kvm01, dom, timeout: float = 240) -> tuple[GuestView, float]:
    """Until the guest has a lease and its SSH server answers (boot under TCG)."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        view = GuestView(kvm01, dom)
        try:
            view.run("true", timeout=20)
            return view, time.monotonic() - start
        except (GuestNoAddress, GuestTransportError) as exc:
            last = str(exc)
            time.sleep(2)
    pytest.fail(f"no SSH into {VM} within {timeout}s; last: {last}")


def test_ssh_without_agent(kvm01, dom):
    _, booted = _first_contact(kvm01, dom)
    FIGURES["boot to first SSH command (s)"] = booted
    for cached in list(kvm01.guest_sessions.values()):  # time a cold connection too
        cached.close()
    kvm01.guest_sessions.clear()

    view = GuestView(kvm01, dom)
    t0 = time.monotonic()
    assert view.transport == "ssh"
    FIGURES["no agent channel: detection (s)"] = time.monotonic() - t0
    assert view.why_not_agent == "no guest agent channel"
    t0 = time.monotonic()
    res = view.run("cat /proc/cmdline")
    FIGURES["first command over SSH, connect included (s)"] = time.monotonic() - t0
    assert res.rc == 0, res
    assert f"guestname={VM}" in res.stdout and "guestagent=0" in res.stdout
    assert view.address and view.address.startswith("192.168.122."), view.address
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        res = view.run("cat /proc/cmdline")
        times.append(time.monotonic() - t0)
        assert res.rc == 0
    FIGURES["next command over SSH, median (s)"] = sorted(times)[2]
    # a new view (the next check) reuses the host's connection
    t0 = time.monotonic()
    assert GuestView(kvm01, dom).run("echo again").stdout == "again\n"
    FIGURES["new view, cached connection (s)"] = time.monotonic() - t0

    # a wrong state is a result, not an exception; stderr and rc come back apart
    res = view.run("echo out; echo err >&2; exit 3")
    assert (res.rc, res.stdout, res.stderr) == (3, "out\n", "err\n")
    # the equivalents of the agent's calls, by shell
    eth0 = {i.name: i for i in view.interfaces()}["eth0"]
    mac = ET.fromstring(dom.XMLDesc(0)).find("devices/interface/mac").get("address")
    assert eth0.mac == mac and eth0.ipv4 and eth0.ipv4[0].startswith(view.address + "/")
    assert view.vcpus_online() == 1
    assert view.hostname() == VM
    assert any(f["mountpoint"] == "/proc" for f in view.fsinfo())

    # a command's deadline: ExecTimeout (ERROR) in about that time; the connection stays usable
    t0 = time.monotonic()
    with pytest.raises(ExecTimeout):
        view.run("sleep 20", timeout=2)
    assert time.monotonic() - t0 < 6
    assert view.run("echo still").stdout == "still\n"
    # output is capped, not buffered whole
    big = view.run("head -c 3000000 /dev/zero | tr '\\0' x", timeout=60)
    assert big.rc == 0 and len(big.stdout) == MAX_OUTPUT
    # what the labs' checks call
    from labs.common.kvm import guest, guest_run

    res = guest_run(guest(kvm01, VM), "cat /proc/cmdline")
    assert res.rc == 0 and f"guestname={VM}" in res.stdout
    log.info("figures: %s", FIGURES)


def test_wrong_password_names_the_credential(kvm01, dom):
    _first_contact(kvm01, dom)
    view = GuestView(kvm01, dom, credentials=GuestCredentials("root", "not-the-password"))
    t0 = time.monotonic()
    with pytest.raises(GuestLoginRefused) as err:
        view.run("true")
    FIGURES["wrong password refused after (s)"] = time.monotonic() - t0
    msg = str(err.value)
    assert f"guest {VM} on kvm01" in msg and "refused root's password" in msg, msg
    assert "not-the-password" not in msg


def test_agent_not_connected_is_seen_at_once(kvm01, dom):
    _first_contact(kvm01, dom)
    dom.attachDeviceFlags(
        f"<channel type='unix'><target type='virtio' name='{AGENT_CHANNEL}'/></channel>",
        libvirt.VIR_DOMAIN_AFFECT_LIVE,
    )
    assert AGENT_CHANNEL in dom.XMLDesc(0)
    time.sleep(1)  # the guest sees the port; guestagent=0: nothing opens it
    view = GuestView(kvm01, dom)
    t0 = time.monotonic()
    assert view.transport == "ssh"
    took = time.monotonic() - t0
    FIGURES["agent not connected: detection (s)"] = took
    assert took < 3, f"{took:.1f}s to see that the agent is not connected ({view.why_not_agent})"
    assert "not connected" in view.why_not_agent or "did not answer" in view.why_not_agent, view.why_not_agent
    assert view.run("cat /proc/cmdline").rc == 0
    log.info("figures: %s", FIGURES)


def test_through_an_ssh_reached_kvm_host(kvm01, dom, monkeypatch):
    """As in grade mode: kvm01 reached over SSH (paramiko), the guest through a direct-tcpip
    channel on that connection, credentials from the inventory entry; then, with forwarding
    refused by the host's sshd, through the relay on an exec channel."""
    import paramiko

    from harness.core import artefacts
    from harness.core.lab import Role
    from harness.hosts.inventory import HostEntry
    from harness.provisioners.static import ssh_host

    _first_contact(kvm01, dom)
    entry = HostEntry(name="kvm01", address=kvm01.address, key_file=str(artefacts.ssh_key()),
                      host_key_policy="ignore", guest_user="root", guest_password="123456")
    h = ssh_host("kvm01", Role.KVM_HOST, entry)
    try:
        assert h.access.guest_password == "123456" and "123456" not in repr(h.access)
        d = h.libvirt.lookupByName(VM)
        view = GuestView(h, d)
        t0 = time.monotonic()
        res = view.run("cat /proc/cmdline")
        FIGURES["ssh-reached host: first command, direct-tcpip (s)"] = time.monotonic() - t0
        assert res.rc == 0 and f"guestname={VM}" in res.stdout
        t0 = time.monotonic()
        assert view.run("echo x").stdout == "x\n"
        FIGURES["ssh-reached host: next command (s)"] = time.monotonic() - t0
        assert isinstance(view._ssh.tunnel, paramiko.Channel)

        real = paramiko.Transport.open_channel

        def no_forwarding(self, kind, *a, **k):
            if kind == "direct-tcpip":
                raise paramiko.ChannelException(1, "Administratively prohibited")
            return real(self, kind, *a, **k)

        monkeypatch.setattr(paramiko.Transport, "open_channel", no_forwarding)
        for s in list(h.guest_sessions.values()):
            s.close()
        h.guest_sessions.clear()
        view = GuestView(h, d)
        t0 = time.monotonic()
        res = view.run("cat /proc/cmdline")
        FIGURES["ssh-reached host: first command, exec relay (s)"] = time.monotonic() - t0
        assert res.rc == 0 and f"guestname={VM}" in res.stdout
    finally:
        h.close()
    log.info("figures: %s", FIGURES)
