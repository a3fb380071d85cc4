"""What the KVM labs built on the lab guest share (vm_basics, disk_images, snapshots, clone, bridging,
hotplug, migration).

Solution side: ``virt_install`` makes a VM the way the course does (virt-install with the
course's names and sizes), with the lab guest in place of the CentOS 7 install: the guest's
kernel and initrd are booted directly (``--import --boot kernel=...``), and a guest agent
channel lets the harness see inside without SSH. Check side: ``domain``/``xml`` read a VM,
``guest`` gives its own view (harness.kvm.guest_view.GuestView: the agent when it answers, else SSH
through the KVM host, as the course's VMs run no agent).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.kvm.agent import AGENT_CHANNEL, GuestAgent
from harness.kvm.guest_view import GuestView
from harness.hosts.host import Host
from harness.core.lab import LabEnv
from harness.core.wait import wait_until

BOOT_DIR = "/var/lib/libvirt/boot"
OS_VARIANT = "rhel7.0"  # the notes' `--os-variant rhel7`, as today's osinfo-db names it
GUEST_IMAGE_DIR = "/opt/labharness/guest"
#: what answers Enter on a serial console: a login prompt (getty) or a shell prompt ending a line
#: (busybox ash may follow it with a cursor-position query, ESC [6n)
CONSOLE_PROMPT = re.compile(r"(login:\s*$|[#$] (\x1b\[[0-9;]*[a-zA-Z])*\s*$)", re.M)

# --------------------------------------------------------------------------- solution side


def data_path(params, name: str) -> str:
    """``name`` in the lab's data directory (the notes' /data): ``params`` is the lab's course values."""
    return posixpath.join(params.data_dir, name)


def boot_option(kernel_args: str) -> str:
    """virt-install/virt-xml ``--boot`` value for the lab guest; the quotes keep commas in the args."""
    return f'kernel={BOOT_DIR}/vmlinuz,initrd={BOOT_DIR}/initrd.gz,kernel_args="{kernel_args}"'


def virt_install(env: LabEnv, h: Host, name: str, *, memory: str, vcpus: str, disks: list[str], network: str,
                 kernel_args: str, graphics: str = "vnc,listen=0.0.0.0", os_variant: str = OS_VARIANT,
                 start: bool = True) -> None:
    """``virt-install --name NAME --memory M --vcpus V --disk ... --network ... --graphics ...``.

    The course's ``--cdrom CentOS-7-x86_64-DVD-1804.iso`` becomes ``--import --boot kernel=...``
    of the lab guest (the ISO cannot be had, and its installer needs a VNC session);
    ``--virt-type`` is kvm where KVM works, qemu (TCG) otherwise. ``--os-variant rhel7`` is
    no longer a known id: ``rhel7.0`` gives the same virtio disk and NIC (``--os-type`` is gone).
    ``start=False`` (``--noreboot``) leaves the VM defined and shut off.
    """
    h.check("mkdir -p %s %s", env.params.data_dir, BOOT_DIR)
    if h.run("test -s %s/vmlinuz -a -s %s/initrd.gz", BOOT_DIR, BOOT_DIR).rc != 0:
        # libvirt relabels what a domain boots: copy the kernel/initrd out of the read-only mount
        h.check("cp %s/vmlinuz %s/initrd.gz %s/", GUEST_IMAGE_DIR, GUEST_IMAGE_DIR, BOOT_DIR)
    argv = ["virt-install", "--virt-type", "kvm" if env.accel == "kvm" else "qemu", "--name", name,
            "--memory", memory, "--vcpus", vcpus]
    for d in disks:
        argv += ["--disk", d]
    argv += ["--import", "--boot", boot_option(kernel_args), "--network", network, "--graphics", graphics,
             "--noautoconsole", "--channel", f"unix,target.type=virtio,target.name={AGENT_CHANNEL}",
             "--os-variant", os_variant]
    if not start:
        argv.append("--noreboot")
    h.check(" ".join(["%s"] * len(argv)), *argv, timeout=180)


def agent(h: Host, name: str) -> GuestAgent:
    return GuestAgent(h.libvirt.lookupByName(name))


def wait_agent(h: Host, name: str, timeout: float = 240) -> GuestAgent:
    a = agent(h, name)
    a.wait_ready(timeout=timeout)
    return a


def guest_sh(h: Host, name: str, script: str, timeout: float = 30) -> str:
    """Run a shell script in the guest (what the student types after `ssh root@guest`)."""
    res = agent(h, name).exec(["/bin/sh", "-c", script], timeout=timeout)
    if res.rc != 0:
        raise RuntimeError(f"in {name}, `{script}` exited {res.rc}: {res.stderr or res.stdout}")
    return res.stdout


def domstate(h: Host, name: str) -> str:
    return h.run("virsh domstate %s", name).stdout.strip()


def wait_state(h: Host, name: str, state: str, timeout: float = 180) -> None:
    """Until `virsh domstate NAME` says ``state``; the deadline leaves room for a guest powering off
    inside a busy emulated L1 (a wait ends as soon as the state is seen)."""
    wait_until(lambda: domstate(h, name) == state, timeout=timeout, what=f"{name} {state}",
               state=lambda: domstate(h, name))


def shutdown(h: Host, name: str) -> None:
    """`virsh shutdown` (asynchronous: the guest powers itself off) and wait for shut off."""
    h.check("virsh shutdown %s", name)
    wait_state(h, name, "shut off")


def wait_guest(h: Host, name: str, probe: str, timeout: float = 60, what: str = "") -> str:
    """Until ``probe`` (a guest shell script) prints something non-empty; return it."""
    out = {"v": ""}

    def seen() -> bool:
        out["v"] = agent(h, name).exec(["/bin/sh", "-c", probe], timeout=20).stdout.strip()
        return bool(out["v"])

    wait_until(seen, timeout=timeout, what=what or f"{name}: {probe}")
    return out["v"]


def bridge_address(h: Host, bridge: str) -> ipaddress.IPv4Interface | None:
    """The first IPv4 address (with its prefix) of ``bridge`` on the host, or None."""
    for word in h.run("ip -4 -o addr show dev %s", bridge).stdout.split():
        if "/" in word:
            try:
                return ipaddress.IPv4Interface(word)
            except ValueError:
                continue
    return None


def segment_address(h: Host, bridge: str) -> ipaddress.IPv4Interface | None:
    """The host's own address on its segment, with the prefix: the interface holding ``h.address``
    (wherever it sits: br0, or still the NIC), else the bridge's first address."""
    if h.address:
        for line in h.run("ip -4 -o addr show").stdout.splitlines():
            for word in line.split():
                if word.startswith(f"{h.address}/"):
                    return ipaddress.IPv4Interface(word)
    return bridge_address(h, bridge)


def guest_address(h: Host, bridge: str, value: str, k: int) -> ipaddress.IPv4Interface:
    """A guest's static address on the host's bridged segment.

    ``value`` is the course's address (e.g. 10.0.1.51/24; without a prefix the segment's is used),
    or ``auto``: the k-th address from the top of the host's subnet (k=1: the last usable one).
    Docker's IPAM hands out container addresses from the bottom of a network (.1 the gateway,
    then .2, .3, ...) and every lab environment has a network of its own, so the top of the
    subnet is free; the solution still checks with ARP that nobody answers there.
    """
    here = segment_address(h, bridge)
    if value != "auto":
        return ipaddress.IPv4Interface(value if "/" in value else f"{value}/{here.network.prefixlen if here else 24}")
    if here is None:
        raise AssertionError(f"{h.name} has no IPv4 address on {bridge}: the guest's address cannot be derived")
    return ipaddress.IPv4Interface(f"{here.network.broadcast_address - k}/{here.network.prefixlen}")


def default_gateway(h: Host) -> str | None:
    words = h.run("ip -4 route show default").stdout.split()
    return words[words.index("via") + 1] if "via" in words else None


# --------------------------------------------------------------------------- check side


def lookup(h: Host, name: str):
    """The libvirt domain ``name`` on ``h``, or None when libvirt says there is none. Any other
    libvirt error (a broken connection, a daemon that stopped answering) passes through: an ERROR."""
    import libvirt

    try:
        return h.libvirt.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def domain(h: Host, name: str):
    """The libvirt domain, or a FAIL saying there is none by that name."""
    dom = lookup(h, name)
    assert dom is not None, f"there is no VM named {name} on {h.name}"
    return dom


def xml(dom, inactive: bool = False) -> ET.Element:
    """The live XML (``virsh dumpxml``) or the persistent one (``--inactive``)."""
    import libvirt

    return ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0))


def disk(root: ET.Element, target: str) -> ET.Element | None:
    for d in root.iter("disk"):
        t = d.find("target")
        if t is not None and t.get("dev") == target:
            return d
    return None


def guest(h: Host, name: str) -> GuestView:
    """The guest's own view of a running VM: its agent when that answers, else SSH through ``h``
    (see harness.kvm.guest_view). A VM that is not running is a FAIL; a guest that cannot be reached
    (no address, credential refused, transport) is an ERROR naming why, raised on first use."""
    dom = domain(h, name)
    assert dom.isActive(), f"{name} is not running"
    return GuestView(h, dom)


def guest_run(view: GuestView, script: str):
    """Run a read-only shell script in the guest; the result goes into the evidence."""
    from harness.core import evidence

    res = view.run(script, timeout=30)
    evidence.add(f"guest ({view.transport}): {script}", f"exit {res.rc}\n{res.stdout}\n{res.stderr}")
    return res


def console_reply(h: Host, name: str, send: bytes = b"\r", timeout: float = 10.0) -> str:
    """What the VM's serial console answers to ``send`` (what `virsh console NAME` then Enter shows).

    Opens the console through libvirt like `virsh console` does, without ``--force`` so a
    student's open session is never stolen (then it is an ERROR: re-run). Output the guest wrote
    before (boot messages buffered in the pty) is read and dropped first, so only the answer counts.
    The stream is always aborted: the console is free again afterwards.
    """
    import libvirt

    from harness.core import evidence

    dom = domain(h, name)
    conn = h.libvirt
    stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
    dom.openConsole(None, stream, 0)

    def read_for(seconds: float, until=None) -> bytes:
        buf = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            chunk = stream.recv(4096)
            if chunk == -2:  # nothing yet
                time.sleep(0.1)
                continue
            if not chunk:  # the console closed
                break
            buf += chunk
            if until is not None and until(buf):
                break
        return buf

    try:
        read_for(1.0)
        stream.send(send)
        reply = read_for(timeout, until=lambda b: CONSOLE_PROMPT.search(b.decode("utf-8", "replace")) is not None)
    finally:
        try:
            stream.abort()
        except libvirt.libvirtError:
            pass
    text = reply.decode("utf-8", "replace")
    evidence.add(f"virsh console {name}, then {send!r}", text or "(no output)")
    return text


IFACE_BRIDGE = Path(__file__).parent / "files" / "iface-bridge.sh"


def iface_bridge(h: Host, nic: str, bridge: str) -> None:
    """`virsh iface-bridge NIC BRIDGE`, or its iproute2 equivalent where libvirt has no netcf."""
    res = h.run("virsh iface-bridge %s %s", nic, bridge, timeout=120)
    if res.rc == 0:
        return
    if "not supported" not in res.stderr:
        raise RuntimeError(f"virsh iface-bridge {nic} {bridge}: {res.stderr.strip()}")
    h.put_file("/usr/local/sbin/iface-bridge", IFACE_BRIDGE.read_bytes(), 0o755)
    h.check("/usr/local/sbin/iface-bridge %s %s", nic, bridge)


# --------------------------------------------------------------------------- course replays
# Shell tests the KVM labs' replays wait on (harness.core.replay.Wait), for VMs without an agent.


def console_up(vm: str) -> str:
    """The serial console of ``vm`` answers: a shell runs on it (the guest is up); the shell reads
    in order, so every line typed on the console before has been run too."""
    return (f"P=$(virsh ttyconsole {vm}) && {{ timeout 3 grep -a -m1 -q '^READY-42' < \"$P\" & "
            "sleep 0.3; printf 'echo READY-$((6*7))\\r' > \"$P\"; wait $!; }")


def shut_off(vm: str, press_again: bool = True) -> str:
    """``vm`` is shut off; with ``press_again``, a power-button press it missed (still booting) is
    pressed again, as a student who sees it still running would."""
    test = f'[ "$(virsh domstate {vm})" = "shut off" ]'
    return test + (f" || {{ virsh shutdown {vm} >/dev/null 2>&1; false; }}" if press_again else "")
