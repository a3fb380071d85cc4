"""Checks of the migration lab (catalog KVM-15 cold migration, KVM-16 live migration).

Read-only: domains through libvirt on each host, files with `qemu-img info -U`, mounts with
`findmnt`, the guests through their agent, the storage host with `gluster volume info` /
`exportfs -v`. What only the migration itself could show (ping gap, boot id before and after,
the serial console across the switch-over) is measured by the harness while it performs the
solution, and checked here when it exists (validate mode).
"""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from harness import evidence
from harness.guest import GuestAgent
from harness.wait import wait_until
from labs.migration.solution import MEASURED, SHARED_FSTYPES, volume_name


def _lookup(host, name):
    """The domain ``name`` on ``host``, or None."""
    import libvirt

    try:
        return host.libvirt.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def _domain(host, name):
    dom = _lookup(host, name)
    assert dom is not None, f"there is no VM named {name} on {host.name}"
    return dom


def _running(host, name):
    dom = _domain(host, name)
    assert dom.isActive(), f"{name} is defined on {host.name} but not running"
    return dom


def _vda(dom, flags=0):
    for disk in ET.fromstring(dom.XMLDesc(flags)).iter("disk"):
        target, source = disk.find("target"), disk.find("source")
        if target is not None and target.get("dev") == "vda":
            return source.get("file") or source.get("dev") or source.get("name") if source is not None else None
    return None


def _mount(host, path, size=False):
    """(source, fstype, mount point) of the filesystem holding ``path``, or None; with ``size``,
    (source, fstype, mount point, size of the file) from the same command."""
    if size:
        res = host.run("findmnt -n -o SOURCE,FSTYPE,TARGET -T %s && stat -c %%s %s", path, path)
    else:
        res = host.run("findmnt -n -o SOURCE,FSTYPE,TARGET -T %s", path)
    parts = res.stdout.split()
    n = 4 if size else 3
    return tuple(parts[:n]) if res.rc == 0 and len(parts) >= n else None


def _agent(dom, name):
    """The guest agent of a running VM; SKIP when the VM has no agent channel to ask."""
    if "org.qemu.guest_agent.0" not in dom.XMLDesc(0):
        pytest.skip(f"{name} has no qemu guest agent channel: the guest's own view cannot be read")
    agent = GuestAgent(dom)

    def ready():
        agent.ping(timeout=2)
        return True

    wait_until(ready, timeout=60, interval=0.1, max_interval=0.3, what=f"guest agent of {name}", state=agent.domain_state)
    return agent


def _measured(lab_env, key):
    return MEASURED.get((lab_env.run_id, lab_env.target), {}).get(key)


# --------------------------------------------------------------------------- KVM-15 cold migration


@pytest.mark.points(1)
@pytest.mark.hint(zh="kvm02 要和 kvm01 一样：virsh iface-bridge ens33 br0 建网桥 br0（IP 在 br0 上），mkdir -p /data",
                  en="Prepare kvm02 like kvm01: virsh iface-bridge ens33 br0 (the host's address moves to br0) and mkdir -p /data")
def test_kvm15_cold_migration_target_ready(kvm02, params):
    """kvm02 has bridge br0 with a port and the host's IPv4 address, and the directory /data."""
    res = kvm02.run("ip -o link show master %s; echo @@; ip -4 -o addr show dev %s scope global; echo @@; test -d %s && echo dir",
                    params.bridge, params.bridge, params.data_dir)
    ports, addr, data_dir = (part.strip() for part in (res.stdout.split("@@") + ["", ""])[:3])
    assert ports, f"kvm02 has no bridge {params.bridge} with a port (the XML's <source bridge='{params.bridge}'/> needs it)"
    assert addr, f"{params.bridge} on kvm02 carries no IPv4 address: the host's address belongs on the bridge"
    assert data_dir == "dir", f"kvm02 has no {params.data_dir}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 kvm01 的 /data 里 virsh dumpxml web01 > web01.xml，然后 scp -rp web01.xml centos7.qcow2 kvm02:/data/",
                  en="On kvm01 in /data: virsh dumpxml web01 > web01.xml, then scp -rp web01.xml centos7.qcow2 kvm02:/data/")
def test_kvm15_cold_migration_files_copied(kvm02, params):
    """kvm02:/data holds web01.xml (for web01) and its own copy of centos7.qcow2 (qcow2, 10G)."""
    xml_path, disk = f"{params.data_dir}/{params.cold_xml}", f"{params.data_dir}/{params.cold_disk}"
    res = kvm02.run("cat %s || echo MISSING; echo @@; qemu-img info -U --output=json %s", xml_path, disk)
    xml, info = (res.stdout.split("@@", 1) + [""])[:2]
    assert xml.strip() != "MISSING", f"kvm02 has no {xml_path}"
    try:
        name = ET.fromstring(xml).findtext("name")
    except ET.ParseError as exc:
        raise AssertionError(f"{xml_path} on kvm02 is not a domain XML: {exc}") from None
    assert name == params.cold_vm, f"{xml_path} on kvm02 defines {name!r}, not {params.cold_vm}"
    assert res.rc == 0 and info.strip(), f"kvm02 has no readable {disk}: {res.stderr.strip()}"
    data = json.loads(info)
    assert data["format"] == "qcow2", f"{disk} on kvm02 is {data['format']}"
    assert data["virtual-size"] == params.cold_disk_size, f"{disk} on kvm02 has virtual size {data['virtual-size']}"
    mount = _mount(kvm02, disk)
    assert mount and mount[1] not in SHARED_FSTYPES, \
        f"{disk} on kvm02 is on shared storage ({mount}): a cold migration copies the disk to the target's own /data"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 kvm02 上 virsh define web01.xml（define 是持久定义，virsh create 不是）",
                  en="On kvm02: virsh define web01.xml (define makes it persistent; virsh create does not)")
def test_kvm15_cold_migration_defined_on_target(kvm02, params):
    """web01 is defined (persistent) on kvm02."""
    dom = _domain(kvm02, params.cold_vm)
    assert dom.isPersistent(), f"{params.cold_vm} on kvm02 is transient: define it from {params.cold_xml}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 kvm02 上 virsh start web01；虚拟机的磁盘是 kvm02 自己的 /data/centos7.qcow2",
                  en="On kvm02: virsh start web01; its disk is kvm02's own /data/centos7.qcow2")
def test_kvm15_cold_migration_running_on_target(kvm02, params):
    """web01 runs on kvm02 from /data/centos7.qcow2."""
    dom = _running(kvm02, params.cold_vm)
    disk = _vda(dom)
    assert disk == f"{params.data_dir}/{params.cold_disk}", f"{params.cold_vm}'s vda on kvm02 is {disk}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="迁移完成后在 kvm01 上 virsh undefine web01（它必须已经关机），否则两台主机上会有两个 web01",
                  en="Once it runs on kvm02, virsh undefine web01 on kvm01 (shut off first): otherwise there are two web01")
def test_kvm15_cold_migration_source_removed(kvm01, kvm02, params):
    """web01 is defined on kvm02 and no longer defined or running on kvm01."""
    _domain(kvm02, params.cold_vm)
    dom = _lookup(kvm01, params.cold_vm)
    if dom is not None:
        state = "running" if dom.isActive() else "shut off"
        raise AssertionError(f"{params.cold_vm} is still defined on kvm01 ({state})")


# --------------------------------------------------------------------------- KVM-16 live migration


@pytest.mark.points(1)
@pytest.mark.hint(zh="共享存储服务器要导出 /data：NFS 用 /etc/exports + exportfs；GlusterFS 用 gluster volume create/start",
                  en="The storage server must export /data: NFS via /etc/exports + exportfs; GlusterFS via gluster volume create/start")
def test_kvm16_live_migration_storage_exported(storage, params):
    """The storage host exports /data (a started GlusterFS volume, or an NFS export)."""
    vol = volume_name(params.export)
    gl = storage.run("gluster --mode=script volume info %s", vol)
    if gl.rc == 0 and re.search(r"^Status:\s*Started", gl.stdout, re.M):
        evidence.add("shared storage", f"GlusterFS volume {vol}, started")
        return
    nfs = storage.run("exportfs -v")
    exports = [line.split()[0] for line in nfs.stdout.splitlines() if line.strip() and not line.startswith((" ", "\t"))]
    assert params.export in exports, \
        f"the storage host has no started GlusterFS volume {vol} and no NFS export of {params.export}"
    evidence.add("shared storage", f"NFS export {params.export}")


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="kvm01 和 kvm02 都要把共享存储挂载到同一个目录（mount -t nfs 或 mount -t glusterfs storage:/data /data/shared）",
                  en="Both kvm01 and kvm02 mount the shared storage at the same directory (mount -t nfs or -t glusterfs storage:/data /data/shared)")
def test_kvm16_live_migration_shared_storage_mounted(kvm01, kvm02, params, lab_env):
    """kvm01 and kvm02 mount the same shared filesystem (NFS or GlusterFS) at /data/shared."""
    mounts = {}
    for host in (kvm01, kvm02):
        mount = _mount(host, params.shared_dir)
        assert mount and mount[2] == params.shared_dir, f"nothing is mounted at {params.shared_dir} on {host.name}"
        assert mount[1] in SHARED_FSTYPES, \
            f"{params.shared_dir} on {host.name} is {mount[1]}, which libvirt does not treat as shared storage (use NFS or GlusterFS)"
        mounts[host.name] = mount
    assert mounts["kvm01"][0] == mounts["kvm02"][0], \
        f"kvm01 mounts {mounts['kvm01'][0]} but kvm02 mounts {mounts['kvm02'][0]}: not the same storage"
    chosen = _measured(lab_env, "storage")
    evidence.add("shared storage", f"{mounts['kvm01'][0]} ({mounts['kvm01'][1]}) at {params.shared_dir} on both hosts"
                 + (f"\nchosen by the harness: {chosen['kind']} ({chosen['why']})" if chosen else ""))


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="在 kvm01 上 virsh migrate --live --verbose vm01 qemu+ssh://kvm02/system，迁移后 vm01 在 kvm02 上运行",
                  en="On kvm01: virsh migrate --live --verbose vm01 qemu+ssh://kvm02/system; afterwards vm01 runs on kvm02")
def test_kvm16_live_migration_running_on_target(kvm02, params):
    """vm01 runs on kvm02."""
    _running(kvm02, params.live_vm)


@pytest.mark.points(1)
@pytest.mark.hint(zh="加 --persistent：否则 vm01 在 kvm02 上只是临时的，关机后定义就没了",
                  en="Add --persistent: without it vm01 is transient on kvm02 and its definition is gone at power-off")
def test_kvm16_live_migration_persistent_on_target(kvm02, params):
    """vm01's definition is on kvm02 (persistent)."""
    dom = _domain(kvm02, params.live_vm)
    assert dom.isPersistent(), f"{params.live_vm} on kvm02 is transient (migrated without --persistent)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="加 --undefinesource：否则 kvm01 上还留着 vm01 的定义，再启动就是两台机器同时写同一块共享磁盘",
                  en="Add --undefinesource: otherwise kvm01 keeps vm01's definition, and starting it there means two hosts writing one shared disk")
def test_kvm16_live_migration_left_source(kvm01, kvm02, params):
    """vm01 runs on kvm02 and is neither running nor defined on kvm01."""
    _running(kvm02, params.live_vm)
    dom = _lookup(kvm01, params.live_vm)
    if dom is not None:
        state = "running" if dom.isActive() else "shut off"
        raise AssertionError(f"{params.live_vm} is still defined on kvm01 ({state})")


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="热迁移的核心是共享存储：vm01 的磁盘要放在 kvm01 和 kvm02 同一路径挂载的 NFS/GlusterFS 上",
                  en="Live migration rests on shared storage: vm01's disk belongs on the NFS/GlusterFS both hosts mount at the same path")
def test_kvm16_live_migration_disk_on_shared_storage(kvm01, kvm02, params):
    """vm01's disk on kvm02 is on shared storage, and kvm01 sees the same file at the same path."""
    disk = _vda(_running(kvm02, params.live_vm))
    assert disk, f"{params.live_vm} on kvm02 has no vda"
    on2 = _mount(kvm02, disk, size=True)
    assert on2 and on2[1] in SHARED_FSTYPES, \
        f"{params.live_vm}'s disk {disk} is on {on2[1] if on2 else 'nothing'} ({on2[0] if on2 else '?'}): local to kvm02, not shared storage"
    on1 = _mount(kvm01, disk, size=True)
    assert on1, f"kvm01 has no {disk}: the disk must be at the same path on both hosts"
    assert on1[0] == on2[0], f"kvm01 sees {disk} on {on1[0]}, kvm02 on {on2[0]}: not the same storage"
    assert on1[3] == on2[3], f"{disk} has {on1[3]} bytes on kvm01 and {on2[3]} on kvm02: not the same file"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="热迁移时虚拟机不能重启：迁移前后 boot_id 相同、uptime 继续增加（不要用冷迁移或重新 start 代替）",
                  en="A live migration never restarts the guest: same boot_id before and after, uptime keeps growing (no cold move or restart)")
def test_kvm16_live_migration_guest_kept_running(kvm02, params, lab_env):
    """vm01 kept running across the migration: its uptime predates its QEMU on kvm02 (and, measured: same boot id, its console continues)."""
    dom = _running(kvm02, params.live_vm)
    agent = _agent(dom, params.live_vm)
    uptime = float(agent.exec(["cat", "/proc/uptime"], timeout=20).stdout.split()[0])
    age = kvm02.run("ps -o etimes= -p \"$(cat /run/libvirt/qemu/%s.pid)\"", params.live_vm).stdout.strip()
    assert age.isdigit(), f"cannot tell how long {params.live_vm}'s QEMU has run on kvm02"
    evidence.add("uptime", f"guest uptime {uptime:.1f} s; its QEMU process on kvm02 started {age} s ago")
    assert uptime > int(age) + 1, \
        f"the guest has been up {uptime:.1f} s, no longer than its QEMU on kvm02 ({age} s): it was booted there, not migrated live"
    live = _measured(lab_env, "live")
    if live:
        evidence.add("measured during the migration", json.dumps(live, indent=2))
        assert live["boot_id_before"] == live["boot_id_after"], "the guest's boot_id changed across the migration: it rebooted"
        step = live["first_tick_on_kvm02"] - live["last_tick_on_kvm01"]
        assert 1 <= step <= 2, (f"console: last tick on kvm01 {live['last_tick_on_kvm01']}, first on kvm02 "
                                f"{live['first_tick_on_kvm02']}: the guest did not simply continue")
        # the ping gap (storage host -> guest) is evidence, not graded: it adds ARP/bridge convergence
        # and this machine's scheduling to the guest's pause, which test_..._job_completed grades


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh domjobinfo vm01 --completed（在 kvm02 上）应显示一次完成的 Incoming migration 及其停机时间",
                  en="virsh domjobinfo vm01 --completed on kvm02 shows a completed incoming migration and its downtime")
def test_kvm16_live_migration_job_completed(kvm02, params):
    """kvm02 recorded a completed incoming migration of vm01 with a downtime under 5 s (virsh domjobinfo --completed)."""
    _domain(kvm02, params.live_vm)
    res = kvm02.run("virsh domjobinfo %s --completed --keep-completed", params.live_vm)
    info = dict(re.findall(r"^([^:\n]+):\s+(.*?)\s*$", res.stdout, re.M))
    if info.get("Job type") in (None, "None"):
        pytest.skip("kvm02 keeps no completed job of vm01 (libvirtd restarted since the migration?)")
    assert info.get("Job type") == "Completed", f"the last job of {params.live_vm} on kvm02 is {info.get('Job type')}"
    assert info.get("Operation") == "Incoming migration", f"the last completed job of {params.live_vm} on kvm02 is {info.get('Operation')}"
    downtime = int(info.get("Total downtime", "0 ms").split()[0])
    assert downtime <= params.max_downtime_ms, f"the migration stopped the guest for {downtime} ms"


# --------------------------------------------------------------------------- KVM-15, last
# Last in the file: web01's boot on kvm02 (started at the end of KVM-15) overlaps the other checks.


@pytest.mark.points(1)
@pytest.mark.hint(zh="先在 kvm01 上 virsh shutdown web01，再拷贝磁盘；kvm02 上启动的必须是拷过去的那块盘",
                  en="Shut web01 down on kvm01 before copying its disk; kvm02 must boot the copied disk")
def test_kvm15_cold_migration_guest_booted_from_copy(kvm02, params, lab_env):
    """web01 on kvm02 booted from the copied disk: the boot count on its disk continues kvm01's."""
    agent = _agent(_running(kvm02, params.cold_vm), params.cold_vm)
    if agent.exec(["test", "-e", "/etc/labguest-version"], timeout=20).rc != 0:
        pytest.skip(f"{params.cold_vm} is not the lab guest (which counts its boots on its disk): its history cannot be read")
    # the lab guest counts the boot, then writes /www/index.html: wait for the end of its boot
    wait_until(lambda: agent.exec(["test", "-e", "/www/index.html"], timeout=20).rc == 0, timeout=60, interval=0.2,
               what=f"{params.cold_vm} on kvm02 to finish booting")
    res = agent.exec(["/bin/sh", "-c", "cat /mnt/vda/.labguest-boots"], timeout=20)
    assert res.rc == 0 and res.stdout.strip().isdigit(), \
        f"{params.cold_vm} on kvm02 booted without a boot count on its disk: its vda holds no filesystem from kvm01"
    boots = int(res.stdout)
    evidence.add("boot count on web01's disk", f"{boots} boots (1 on kvm01 before the migration, then kvm02)")
    cold = _measured(lab_env, "cold")
    if cold:
        evidence.add("measured during the cold migration", json.dumps(cold, indent=2))
    assert boots >= 2, f"{params.cold_vm}'s disk on kvm02 has seen {boots} boot: it is not the disk web01 booted from on kvm01"
