"""The course's steps for KVM-15 (cold migration) and KVM-16 (live migration), as the harness
performs them in validate mode.

Preconditions the course built in earlier labs are synthesized: br0 on both hosts (KVM-10,
and KVM-15's `virsh iface-bridge ens33 br0` on kvm02), web01 running on kvm01 from
/data/centos7.qcow2 (KVM-06/14). KVM-16 migrates vm01, whose disk lives on the shared storage,
so that both outcomes can be graded together (the course destroys the cold-migrated web01 on
kvm02 before its live migration, which would leave nothing of KVM-15 to grade).

Around the live migration the harness measures what a student cannot report: the guest's boot
id and uptime before and after (guest agent), a counter the guest prints on its serial console
(last line on kvm01, first on kvm02), and the longest gap between replies to 20 ms pings from
the storage host, a neutral machine on the same network. They are kept in ``MEASURED`` for the
checks of the same run (validate mode only; grading a student's hosts works without them).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from harness.guest import Disk, GuestAgent, GuestImage, Nic, domain_xml
from harness.host import Host
from harness.lab import LabEnv, Mistake, Solution
from harness.wait import wait_until

solution = Solution()

KVM_HOSTS = ("kvm01", "kvm02")
BOOT_DIR = "/var/lib/libvirt/boot"  # the guest kernel, next to nothing the guests share
# what libvirt (virStorageFileIsSharedFS) accepts as shared storage for a live migration
SHARED_FSTYPES = frozenset({"nfs", "nfs4", "fuse.glusterfs", "gfs2", "ocfs2", "cifs", "smb3", "ceph",
                            "fuse.ceph-fuse", "gpfs", "fuse.quobyte", "beegfs"})
TICKER = 'i=0\nwhile :; do echo "LABGUEST tick $i"; i=$((i+1)); sleep 0.5; done\n'
MACS = {"cold": "52:54:00:00:15:01", "live": "52:54:00:00:16:01"}

#: (run id, target) -> what the harness measured while it performed the solution
MEASURED: dict[tuple[str, str], dict[str, Any]] = {}


def measured(env: LabEnv) -> dict[str, Any]:
    return MEASURED.setdefault((env.run_id, env.target), {})


# ------------------------------------------------------------------------------------ helpers


def data(env: LabEnv, name: str) -> str:
    return posixpath.join(env.params.data_dir, name)


def shared(env: LabEnv, name: str) -> str:
    return posixpath.join(env.params.shared_dir, name)


def on_kvm_hosts(env: LabEnv, fn: Callable[[Host], Any]) -> list[Any]:
    """Run ``fn`` on kvm01 and kvm02 at the same time (each host's commands stay in order)."""
    with ThreadPoolExecutor(max_workers=len(KVM_HOSTS)) as pool:
        return list(pool.map(fn, [env[h] for h in KVM_HOSTS]))


def read_file(host: Host, path: str) -> str | None:
    """A file of ``host``, or None. A container host's file is read through its root as seen
    from here (/proc/<pid>/root, as the container provisioner reaches libvirt), which costs no
    `docker exec`: what the harness polls while it measures a migration must be cheap."""
    m = re.search(r"socket=/proc/(\d+)/root/", host.access.libvirt_uri or "")
    if m:
        try:
            return Path(f"/proc/{m.group(1)}/root{path}").read_text(errors="replace")
        except FileNotFoundError:
            return None
        except OSError:
            pass
    res = host.run("cat %s", path)
    return res.stdout if res.rc == 0 else None


def lab_network(env: LabEnv) -> ipaddress.IPv4Network:
    """The hosts' network (kvm01's address on br0), looked up once per environment."""
    m = measured(env)
    if "network" not in m:
        out = env["kvm01"].check("ip -4 -o addr show dev %s scope global", env.params.bridge)
        m["network"] = str(ipaddress.IPv4Interface(out.split()[3]).network)
    return ipaddress.IPv4Network(m["network"])


def guest_address(env: LabEnv, which: str) -> str:
    """A guest's static address on the hosts' network (the course: web01 = 10.0.1.51).

    The top of the network: Docker hands out container addresses from the bottom."""
    net = lab_network(env)
    offset = {"cold": 3, "live": 2}[which]
    return f"{net.broadcast_address - offset}/{net.prefixlen}"


def vm_xml(env: LabEnv, name: str, disk: str, which: str) -> str:
    p = env.params
    image = GuestImage(Path(BOOT_DIR) / "vmlinuz", Path(BOOT_DIR) / "initrd.gz")
    xml = domain_xml(
        name, image, disks=[Disk(disk)], nics=[Nic(p.bridge, kind="bridge", mac=MACS[which])],
        memory_mib=p.vm_memory_mib, domain_type="kvm" if env.accel == "kvm" else "qemu",
        # no_timer_check: under TCG on a loaded machine the kernel's IO-APIC timer check can fail
        # ("Kernel panic - not syncing: IO-APIC + timer doesn't work!", seen here at load 20)
        cmdline_extra=f"guestip={guest_address(env, which)} no_timer_check",
        serial_log=f"/var/log/libvirt/qemu/{name}-serial.log",
    )
    root = ET.fromstring(xml)
    # cache='none': what libvirt < 5.6 demanded for a live migration, and what keeps
    # the two hosts' page caches out of the way on shared storage
    root.find("devices/disk/driver").set("cache", "none")
    return ET.tostring(root, encoding="unicode")


def wait_shut_off(host: Host, name: str, timeout: float = 60) -> None:
    """Until ``virsh domstate`` would say "shut off" (asked through libvirt: polling is cheap)."""
    import libvirt

    dom = host.libvirt.lookupByName(name)
    wait_until(lambda: dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF, timeout=timeout, interval=0.1, max_interval=0.2,
               what=f"{name} shut off on {host.name}", state=lambda: GuestAgent(dom).domain_state())


def agent(host: Host, name: str) -> GuestAgent:
    return GuestAgent(host.libvirt.lookupByName(name))


def wait_agent(host: Host, name: str, timeout: float = 90) -> GuestAgent:
    """The guest agent of ``name`` on ``host``, once it answers (the guest has booted)."""
    ga = agent(host, name)

    def ready() -> bool:
        ga.ping(timeout=2)
        return True

    wait_until(ready, timeout=timeout, interval=0.1, max_interval=0.3, what=f"guest agent of {name} on {host.name}",
               state=ga.domain_state)
    return ga


def wait_up(host: Host, name: str, timeout: float = 120) -> None:
    """Until the guest has finished booting: "LABGUEST up" on its console (printed after it
    counted the boot on its disk; the agent answers earlier, and a `virsh shutdown` that goes
    through the agent before that line cuts the boot short)."""
    log = f"/var/log/libvirt/qemu/{name}-serial.log"
    wait_until(lambda: "LABGUEST up" in (read_file(host, log) or ""), timeout=timeout, interval=0.1, max_interval=0.3,
               what=f"{name} booted on {host.name}", state=lambda: (read_file(host, log) or "(no console log)")[-300:])


def guest_sh(ga: GuestAgent, script: str, stdin: str | None = None, timeout: float = 20) -> str:
    res = ga.exec(["/bin/sh", "-c", script], stdin=stdin, timeout=timeout)
    if res.rc != 0:
        raise RuntimeError(f"in the guest, `{script}` exited {res.rc}: {res.stderr or res.stdout}")
    return res.stdout


def serial_ticks(host: Host, name: str) -> list[int]:
    """The ticks the guest printed on its console on ``host``, whole lines only (a line cut by
    the switch-over is left out on both sides)."""
    out = read_file(host, f"/var/log/libvirt/qemu/{name}-serial.log") or ""
    return [int(n) for n in re.findall(r"(?:^|\n)LABGUEST tick (\d+)\r?\n", out)]


def storage_choice(env: LabEnv) -> tuple[str, str]:
    """("nfs" | "glusterfs", why): NFS as the course does it where the kernels have it."""
    probes = [(h, "nfs|nfs4", f"{h}'s kernel has no NFS client") for h in KVM_HOSTS]
    probes.append(("storage", "nfsd", "the storage host's kernel has no nfsd"))
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        rcs = list(pool.map(lambda pr: env[pr[0]].run("grep -qwE %s /proc/filesystems", pr[1]).rc, probes))
    missing = [why for (_, _, why), rc in zip(probes, rcs) if rc != 0]
    if not missing:
        return "nfs", "the kernels have NFS (client and nfsd)"
    return "glusterfs", "GlusterFS over FUSE instead of NFS: " + "; ".join(missing)


def volume_name(export: str) -> str:
    return export.strip("/").replace("/", "-") or "data"


# ------------------------------------------------------------------------------------ steps


@solution.step("KVM-10/15 (precondition): bridge br0 on kvm01 and kvm02, /data and the guest kernel on both")
def prepare_hosts(env: LabEnv) -> None:
    p = env.params
    # `virsh iface-bridge eth0 br0` needs netcf, which Debian's libvirt lacks: the same with ip.
    # br0 takes eth0's MAC explicitly, so an incoming guest's tap can never become the bridge's
    # address (which cut host-to-host traffic in the middle of a migration: notes/migration.md 6.1).
    bridge = r"""
set -e
br=$1
[ -e /sys/class/net/$br ] && exit 0
ip=$(ip -4 -o addr show dev eth0 scope global | awk '{print $4; exit}')
gw=$(ip -4 route show default | awk '{print $3; exit}')
ip link add $br type bridge stp_state 0 forward_delay 0
ip link set $br address "$(cat /sys/class/net/eth0/address)"
ip link set eth0 master $br
ip addr del "$ip" dev eth0
ip addr add "$ip" dev $br
ip link set $br up
[ -z "$gw" ] || ip route replace default via "$gw" dev $br
"""

    def prepare(h: Host) -> None:
        h.check("sh -c %s sh %s && mkdir -p %s %s && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz %s/",
                bridge, p.bridge, p.data_dir, BOOT_DIR, BOOT_DIR)

    on_kvm_hosts(env, prepare)


@solution.step("KVM-14 (precondition): web01 running on kvm01 from /data/centos7.qcow2 (a converted raw disk), on br0")
def start_cold_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    disk, raw = data(env, p.cold_disk), data(env, "centos2.raw")
    xml = data(env, f"{p.cold_vm}.install.xml")
    # KVM-06: a raw disk holding a filesystem, converted to qcow2 (the guest keeps its boot count
    # there); then the VM, defined and started (KVM-14 used virt-install)
    h.check("qemu-img create -q -f raw %s %s && mkfs.ext4 -q -F -J size=4 %s && "
            "qemu-img convert -f raw -O qcow2 %s %s && rm -f %s && "
            "printf '%%s\\n' %s > %s && virsh define %s && virsh start %s && rm -f %s",
            raw, str(p.cold_disk_size), raw, raw, disk, raw,
            vm_xml(env, p.cold_vm, disk, "cold"), xml, xml, p.cold_vm, xml)


@solution.step("KVM-16: export /data from the storage host (NFS, or GlusterFS where the kernel has no NFS), mount it on kvm01 and kvm02")
def shared_storage(env: LabEnv) -> None:
    p, st = env.params, env["storage"]
    kind, why = storage_choice(env)
    measured(env)["storage"] = {"kind": kind, "why": why}
    if kind == "nfs":
        net = lab_network(env)
        # the course's /etc/exports line, for this network
        st.check("mkdir -p %s && echo %s > /etc/exports", p.export,
                 f"{p.export} {net}(rw,sync,all_squash,anonuid=0,anongid=0,no_subtree_check)")
        st.check("(rpcbind || true) && (mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd) && "
                 "rpc.nfsd 8 && rpc.mountd && exportfs -ra")
        fstype, source = "nfs", f"{st.name}:{p.export}"
    else:
        vol = volume_name(p.export)
        brick = f"/bricks/{vol}"
        # strict-o-direct + remote-dio off: cache='none' (O_DIRECT) really reaches the brick, so
        # the target host never reads the image through a stale client-side cache
        st.check('mkdir -p %s && gluster --mode=script volume create %s "$(hostname):%s" force && '
                 "gluster --mode=script volume set %s performance.strict-o-direct on network.remote-dio off && "
                 "gluster --mode=script volume start %s", brick, vol, brick, vol, vol)
        fstype, source = "glusterfs", f"{st.name}:/{vol}"

    def mount(h: Host) -> None:
        h.check("mkdir -p %s && (mountpoint -q %s || mount -t %s %s %s)", p.shared_dir, p.shared_dir, fstype, source, p.shared_dir)

    on_kvm_hosts(env, mount)


@solution.step("KVM-16 (precondition): vm01 running on kvm01 with its disk on the shared storage")
def start_live_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    disk = shared(env, p.live_disk)
    xml = data(env, f"{p.live_vm}.xml")
    h.check("qemu-img create -q -f qcow2 %s %s && printf '%%s\\n' %s > %s && virsh define %s && virsh start %s",
            disk, str(p.live_disk_size), vm_xml(env, p.live_vm, disk, "live"), xml, xml, p.live_vm)


@solution.step("KVM-15: cold migration of web01: shut down, dumpxml, scp xml+disk to kvm02:/data, define and start there, undefine on kvm01")
def cold_migration(env: LabEnv) -> None:
    p, k1, k2 = env.params, env["kvm01"], env["kvm02"]
    t0 = time.monotonic()
    wait_up(k1, p.cold_vm)  # the course's web01 was up and running
    t_up = time.monotonic()
    k1.check("virsh shutdown %s", p.cold_vm)  # never copy a running VM's disk (catalog §1.4 #12)
    wait_shut_off(k1, p.cold_vm)
    t_off = time.monotonic()
    k1.check("cd %s && virsh dumpxml %s > %s && scp -rp %s %s %s", p.data_dir, p.cold_vm, p.cold_xml,
             p.cold_xml, p.cold_disk, f"kvm02:{p.data_dir}/", timeout=300)
    k2.check("cd %s && virsh define %s && virsh start %s", p.data_dir, p.cold_xml, p.cold_vm)
    k1.check("virsh undefine %s", p.cold_vm)
    t_end = time.monotonic()
    measured(env)["cold"] = {"wait_boot_s": t_up - t0, "shutdown_s": t_off - t_up, "copy_define_start_s": t_end - t_off,
                             "downtime_s": t_end - t_up}


@solution.step("KVM-16: live migration of vm01 kvm01 -> kvm02: virsh migrate --live --persistent --undefinesource vm01 qemu+ssh://kvm02/system")
def live_migration(env: LabEnv) -> None:
    p, k1, k2, st = env.params, env["kvm01"], env["kvm02"], env["storage"]
    vm = p.live_vm
    m: dict[str, Any] = {}
    t_start = time.monotonic()
    wait_up(k1, vm)
    ga = wait_agent(k1, vm)
    m["wait_boot_s"] = time.monotonic() - t_start
    before = guest_sh(ga, "cat /proc/sys/kernel/random/boot_id /proc/uptime; "
                          "if [ ! -e /run/lh-ticker ]; then cat > /run/lh-ticker; sh /run/lh-ticker </dev/null >/dev/ttyS0 2>&1 & fi",
                      stdin=TICKER).split()
    m["boot_id_before"], m["uptime_before"] = before[0], float(before[1])
    ip = guest_address(env, "live").split("/")[0]
    ping_log = "/tmp/lh-ping-vm01.log"
    pinger = st.run("command -v ping >/dev/null && { ping -n -D -i 0.02 -w 120 %s > %s 2>&1 & echo $!; }", ip, ping_log).stdout.strip()

    def replies() -> int:
        return (read_file(st, ping_log) or "").count(" bytes from ")

    if pinger:
        wait_until(lambda: replies() >= 3, timeout=15, interval=0.1, what=f"{vm} answering pings from the storage host")
    wait_until(lambda: serial_ticks(k1, vm), timeout=10, interval=0.1, what=f"{vm} printing ticks on its console")
    t0 = time.monotonic()
    m["instrument_s"] = t0 - t_start - m["wait_boot_s"]
    k1.check("virsh migrate --live --verbose --persistent --undefinesource %s %s", vm, "qemu+ssh://kvm02/system", timeout=180)
    m["virsh_migrate_s"] = time.monotonic() - t0
    if pinger:
        after_migration = replies()
        try:  # replies flowing again from the guest on kvm02
            wait_until(lambda: replies() >= after_migration + 5, timeout=10, interval=0.1, what="pings answered after the migration")
        finally:
            st.run("kill -INT %s", pinger)
        m["ping"] = ping_summary(read_file(st, ping_log) or "")
    else:
        m["ping"] = {"error": "no ping on the storage host"}
    ga2 = wait_agent(k2, vm, timeout=30)
    after = guest_sh(ga2, "cat /proc/sys/kernel/random/boot_id /proc/uptime").split()
    m["boot_id_after"], m["uptime_after"] = after[0], float(after[1])
    wait_until(lambda: serial_ticks(k2, vm), timeout=10, interval=0.1, what=f"{vm} printing ticks on kvm02")
    m["last_tick_on_kvm01"] = serial_ticks(k1, vm)[-1]
    m["first_tick_on_kvm02"] = serial_ticks(k2, vm)[0]
    m["after_s"] = time.monotonic() - t0 - m["virsh_migrate_s"]
    measured(env)["live"] = m


def ping_summary(log: str) -> dict[str, Any]:
    """Replies, losses and the longest gap between two replies in `ping -D` output."""
    stamps = [float(s) for s in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", log, re.M)]
    sent = re.search(r"(\d+) packets transmitted, (\d+) received", log)
    gap, at = 0.0, None
    for a, b in zip(stamps, stamps[1:]):
        if b - a > gap:
            gap, at = b - a, a
    return {"replies": len(stamps), "transmitted": int(sent.group(1)) if sent else None,
            "max_gap_ms": round(gap * 1000), "gap_started_s": round(at - stamps[0], 2) if at is not None else None}


# --------------------------------------------------------------------------- typical mistakes


def _cold_left_on_source(env: LabEnv) -> None:
    p, k1 = env.params, env["kvm01"]
    # copied and started on kvm02, but web01 was never shut down and removed on kvm01
    k1.check("cd %s && virsh define %s && virsh start %s", p.data_dir, p.cold_xml, p.cold_vm)


def _live_source_kept(env: LabEnv) -> None:
    p, k1 = env.params, env["kvm01"]
    # `virsh migrate --live vm01 ...` without --undefinesource: kvm01 keeps vm01 defined (shut off)
    k1.check("virsh define %s", data(env, f"{p.live_vm}.xml"))


def _disk_not_shared(env: LabEnv) -> None:
    p, k2 = env.params, env["kvm02"]
    # vm01 runs on kvm02 from a disk of kvm02's own (as after keeping it in kvm01's local /data and
    # migrating with --copy-storage-all): moved there live, so the guest itself is undisturbed
    k2.check("virsh blockcopy %s vda %s --wait --pivot --transient-job", p.live_vm, data(env, p.live_disk), timeout=120)


def _transient_target(env: LabEnv) -> None:
    p, k2 = env.params, env["kvm02"]
    # `virsh migrate --live` without --persistent: vm01 runs on kvm02 but is not defined there
    k2.check("virsh undefine %s", p.live_vm)


MISTAKES = (
    Mistake("cold_left_on_source", "started web01 on kvm02 but left it defined and running on kvm01 (catalog §1.4 #12)",
            _cold_left_on_source, frozenset({"test_kvm15_cold_migration_source_removed"})),
    Mistake("live_source_kept", "migrated vm01 without --undefinesource: kvm01 still has it defined",
            _live_source_kept, frozenset({"test_kvm16_live_migration_left_source"})),
    Mistake("disk_not_shared", "vm01's disk is not on the shared storage but on kvm02's local /data",
            _disk_not_shared, frozenset({"test_kvm16_live_migration_disk_on_shared_storage"})),
    Mistake("transient_target", "migrated vm01 without --persistent: it runs on kvm02 but is not defined there",
            _transient_target, frozenset({"test_kvm16_live_migration_persistent_on_target"})),
)
