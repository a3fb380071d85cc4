"""Checks of the migration lab (catalog KVM-15 cold migration, KVM-16 live migration).

Graded after the whole of the notes: web01 was cold-copied to kvm02 (KVM-15), then that copy was
destroyed and undefined, kvm02 mounted the shared /data over its own, and web01 moved live from
kvm01 to kvm02 (KVM-16). What KVM-15 leaves is then read where it still is: kvm02's own /data
under the mount (looked at from a private mount namespace, which changes nothing on kvm02) and
the QEMU log of web01 on kvm02 (one ordinary start: the cold copy booted there).

Read-only: domains through libvirt on each host, files with `qemu-img info -U`, mounts with
`findmnt`, QEMU's command line and log, the storage host with `gluster volume info` /
`exportfs -v`, and the guest's own view (by agent or SSH) for its uptime. Nothing comes from
the harness's own solution.
"""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from harness.core import evidence
from harness.core.errors import HarnessError
from labs.common.kvm import domain, guest, guest_run, lookup

# what libvirt (virStorageFileIsSharedFS) accepts as shared storage for a live migration
SHARED_FSTYPES = frozenset({"nfs", "nfs4", "fuse.glusterfs", "gfs2", "ocfs2", "cifs", "smb3", "ceph",
                            "fuse.ceph-fuse", "gpfs", "fuse.quobyte", "beegfs"})


def _running(host, name):
    dom = domain(host, name)
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


def _qemu_pid(host, name):
    """The PID of the running QEMU of ``name`` on ``host`` (libvirt's pid file), or None."""
    out = host.run("cat /run/libvirt/qemu/%s.pid", name).stdout.strip()
    return out if out.isdigit() else None


def _course_address(host, params):
    """web01's address as the notes give it (10.0.1.51 next to kvm01's 10.0.1.50): ``guest_ip``, or
    host number 51 of ``host``'s network on br0; None when the host has no address there."""
    if params.guest_ip != "auto":
        return params.guest_ip.split("/")[0]
    words = host.run("ip -4 -o addr show dev %s scope global", params.bridge).stdout.split()
    here = next((w for w in words if "/" in w and w[0].isdigit()), None)
    return ".".join(here.split("/")[0].split(".")[:3] + ["51"]) if here else None


#: kvm02's own /data as its root filesystem has it, under whatever is mounted on /data: a bind
#: mount of / in a private mount namespace (unshare -m) that disappears with the command
OWN_DIR = ('unshare -m --propagation private sh -c \'mount -t tmpfs lh-look /mnt && mkdir /mnt/root && '
           'mount --bind / /mnt/root && cd "/mnt/root$1" && shift && "$@"\' sh')


# --------------------------------------------------------------------------- KVM-15 cold migration


@pytest.mark.points(1)
@pytest.mark.hint(zh="kvm02 要和 kvm01 一样：virsh iface-bridge ens33 br0 建网桥 br0（IP 在 br0 上），mkdir -p /data",
                  en="Prepare kvm02 like kvm01: virsh iface-bridge ens33 br0 (the host's address moves to br0) and mkdir -p /data")
def test_kvm15_cold_migration_target_ready(kvm02, params):
    """kvm02 has bridge br0 with a port and the host's IPv4 address, and the directory /data."""
    res = kvm02.run("ip -o link show master %s; echo @@; ip -4 -o addr show dev %s scope global; echo @@; test -d %s && echo dir",
                    params.bridge, params.bridge, params.data_dir)
    ports, addr, data_dir = (part.strip() for part in (res.stdout.split("@@") + ["", ""])[:3])
    assert ports, f"kvm02 has no bridge {params.bridge} with a port (web01's <source bridge='{params.bridge}'/> needs it)"
    assert addr, f"{params.bridge} on kvm02 carries no IPv4 address: the host's address belongs on the bridge"
    assert data_dir == "dir", f"kvm02 has no {params.data_dir}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="在 kvm01 的 /data 里 virsh dumpxml web01 > web01.xml，然后 scp -rp web01.xml centos7.qcow2 10.0.1.63:/data/（拷到 kvm02 自己的 /data）",
                  en="On kvm01 in /data: virsh dumpxml web01 > web01.xml, then scp -rp web01.xml centos7.qcow2 10.0.1.63:/data/ (kvm02's own /data)")
def test_kvm15_cold_migration_files_copied(kvm02, params):
    """kvm02's own /data (under the NFS mount of KVM-16, if any) holds web01.xml (for web01) and a qcow2 centos7.qcow2 of 10G."""
    d = params.data_dir
    mounted = kvm02.run("mountpoint -q %s", d).rc == 0
    if mounted:
        res = kvm02.run(OWN_DIR + " %s sh -c %s", d,
                        f"cat {params.xml} || echo MISSING; echo @@; qemu-img info -U --output=json {params.disk}")
        where = f"kvm02's own {d} (under the share mounted there)"
    else:
        res = kvm02.run("cd %s && { cat %s || echo MISSING; echo @@; qemu-img info -U --output=json %s; }", d, params.xml, params.disk)
        where = f"kvm02's {d}"
    evidence.add(f"{where}: {params.xml} and qemu-img info {params.disk}", (res.stdout + res.stderr)[-3000:])
    if "@@" not in res.stdout:
        if mounted:  # /data is a mount point, so the directory exists below it: looking there failed (unshare/mount)
            raise HarnessError(f"cannot look under the mount on kvm02's {d} (needs root: unshare -m, mount --bind): "
                               f"{(res.stderr or res.stdout).strip()[:300]}")
        raise AssertionError(f"kvm02 has no {d}: {(res.stderr or res.stdout).strip()[:200]}")
    xml, info = res.stdout.split("@@", 1)
    assert xml.strip() != "MISSING", f"{where} has no {params.xml}"
    try:
        name = ET.fromstring(xml).findtext("name")
    except ET.ParseError as exc:
        raise AssertionError(f"{params.xml} in {where} is not a domain XML: {exc}") from None
    assert name == params.vm, f"{params.xml} in {where} defines {name!r}, not {params.vm}"
    try:
        data = json.loads(info)
    except ValueError:
        raise AssertionError(f"{where} has no readable {params.disk}: {res.stderr.strip()[-300:]}") from None
    assert data.get("format") == "qcow2", f"{params.disk} in {where} is {data.get('format')}, not qcow2"
    assert data.get("virtual-size") == params.disk_size, \
        f"{params.disk} in {where} has virtual size {data.get('virtual-size')}, expected {params.disk_size} (10G)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="在 kvm02 的 /data 里 virsh define web01.xml，再 virsh start web01（冷迁移就是在 kvm02 上用拷过去的文件开机）",
                  en="On kvm02 in /data: virsh define web01.xml, then virsh start web01 (the cold migration boots the copied files on kvm02)")
def test_kvm15_cold_migration_started_on_target(kvm02, params):
    """kvm02's QEMU log of web01 shows an ordinary start (the cold copy booted there), not only incoming migrations."""
    log = f"/var/log/libvirt/qemu/{params.vm}.log"
    res = kvm02.run("cat %s", log)
    assert res.rc == 0, f"kvm02 has no {log}: {params.vm} was never started on kvm02"
    starts = re.split(r"^\S+ \S+: starting up ", res.stdout, flags=re.M)[1:]
    kinds = ["incoming migration" if re.search(r"^-incoming\b|\s-incoming\s", s, re.M) else "start" for s in starts]
    evidence.add(f"kvm02: starts of {params.vm} in {log}", ", ".join(kinds) or "none")
    assert "start" in kinds, (f"{params.vm} was never started on kvm02 from the copied files "
                              f"({len(kinds)} start(s) in {log}, all incoming migrations)")


# --------------------------------------------------------------------------- KVM-16 live migration


@pytest.mark.points(1)
@pytest.mark.hint(zh="共享存储要导出 /data：NFS 用 /etc/exports + systemctl restart rpcbind nfs；GlusterFS 用 gluster volume create/start",
                  en="The shared storage must export /data: NFS via /etc/exports + systemctl restart rpcbind nfs; GlusterFS via gluster volume create/start")
def test_kvm16_live_migration_storage_exported(storage, params):
    """The storage host exports /data (a started GlusterFS volume named after it, or an NFS export)."""
    vol = params.export.strip("/").replace("/", "-") or "data"
    gl = storage.run("gluster --mode=script volume info %s", vol)
    if gl.rc == 0 and re.search(r"^Status:\s*Started", gl.stdout, re.M):
        evidence.add("shared storage", f"GlusterFS volume {vol}, started")
        return
    nfs = storage.run("exportfs -v")
    exports = [line.split()[0] for line in nfs.stdout.splitlines() if line.strip() and not line.startswith((" ", "\t"))]
    assert params.export in exports, \
        f"the storage host has no started GlusterFS volume {vol} and no NFS export of {params.export} ({gl.stdout.strip()[:200] or gl.stderr.strip()[:200]})"
    evidence.add("shared storage", f"NFS export {params.export}")


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="kvm02 要 mount.nfs 10.0.1.50:/data /data，和 kvm01 用同一个共享目录 /data",
                  en="kvm02 must mount.nfs 10.0.1.50:/data /data: the same shared /data as kvm01")
def test_kvm16_live_migration_shared_storage_mounted(kvm01, kvm02, params):
    """kvm01 and kvm02 have the same shared filesystem (NFS or GlusterFS) at /data."""
    mounts = {}
    for host in (kvm01, kvm02):
        mount = _mount(host, params.data_dir)
        assert mount and mount[2] == params.data_dir, f"nothing is mounted at {params.data_dir} on {host.name}"
        assert mount[1] in SHARED_FSTYPES, \
            f"{params.data_dir} on {host.name} is {mount[1]}, which libvirt does not treat as shared storage (use NFS or GlusterFS)"
        mounts[host.name] = mount
    assert mounts["kvm01"][0] == mounts["kvm02"][0], \
        f"kvm01 has {mounts['kvm01'][0]} at {params.data_dir} but kvm02 has {mounts['kvm02'][0]}: not the same storage"
    evidence.add("shared storage", f"{mounts['kvm01'][0]} ({mounts['kvm01'][1]}) at {params.data_dir} on both hosts")


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="开机自动挂载：echo 'mount.nfs 10.0.1.50:/data /data' >> /etc/rc.local，并 chmod +x /etc/rc.d/rc.local",
                  en="Mount at boot: echo 'mount.nfs 10.0.1.50:/data /data' >> /etc/rc.local and chmod +x /etc/rc.d/rc.local")
def test_kvm16_live_migration_mounted_at_boot(kvm02, params):
    """kvm02 mounts the share on /data at boot: an executable rc.local that mounts it, or an /etc/fstab entry."""
    d = re.escape(params.data_dir)
    res = kvm02.run("for f in /etc/rc.local /etc/rc.d/rc.local; do [ -e $f ] && { [ -x $f ] && echo \"X $f\" || echo \"- $f\"; "
                    "grep -hE '^[^#]*mount' $f | sed \"s|^|L $f |\"; }; done; grep -hE '^[^#]' /etc/fstab | sed 's|^|F |'")
    evidence.add("kvm02: rc.local and fstab", res.stdout.strip() or "(neither)")
    fstab = [line for line in res.stdout.splitlines() if line.startswith("F ")
             and len(line.split()) > 3 and line.split()[2] == params.data_dir and line.split()[3] in SHARED_FSTYPES | {"glusterfs"}]
    if fstab:
        return
    mounting = {line.split()[1] for line in res.stdout.splitlines()
                if line.startswith("L ") and re.search(rf"\s{d}/?(\s|$)", line) and re.search(r"nfs|gluster", line)}
    assert mounting, f"neither /etc/rc.local nor /etc/fstab on kvm02 mounts the share on {params.data_dir}"
    runnable = {line.split()[1] for line in res.stdout.splitlines() if line.startswith("X ")}
    assert mounting & runnable, f"{', '.join(sorted(mounting))} mounts {params.data_dir} but is not executable: it never runs at boot"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="用 virt-manager（或 virsh migrate --live web01 qemu+ssh://10.0.1.63/system）把 web01 迁到 kvm02，迁移后 web01 在 kvm02 上运行",
                  en="Migrate web01 to kvm02 with virt-manager (or virsh migrate --live web01 qemu+ssh://10.0.1.63/system); afterwards web01 runs on kvm02")
def test_kvm16_live_migration_running_on_target(kvm02, params):
    """web01 runs on kvm02."""
    _running(kvm02, params.vm)


@pytest.mark.points(1)
@pytest.mark.hint(zh="迁移时要把定义一起迁过去（virt-manager 不要勾 Temporary move；virsh 加 --persistent），否则 web01 在 kvm02 上只是临时的",
                  en="Move the definition too (virt-manager: no 'Temporary move'; virsh: --persistent), otherwise web01 is transient on kvm02")
def test_kvm16_live_migration_persistent_on_target(kvm02, params):
    """web01's definition is on kvm02 (persistent)."""
    dom = domain(kvm02, params.vm)
    assert dom.isPersistent(), f"{params.vm} on kvm02 is transient (migrated without --persistent / as a temporary move)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="迁移后 kvm01 上不能再有 web01（virsh 加 --undefinesource），否则再启动就是两台机器同时写同一块共享磁盘",
                  en="After the migration kvm01 must not keep web01 (virsh: --undefinesource): starting it there means two hosts writing one shared disk")
def test_kvm16_live_migration_left_source(kvm01, kvm02, params):
    """web01 runs on kvm02 and is neither running nor defined on kvm01."""
    _running(kvm02, params.vm)
    dom = lookup(kvm01, params.vm)
    if dom is not None:
        state = "running" if dom.isActive() else "shut off"
        raise AssertionError(f"{params.vm} is still defined on kvm01 ({state})")


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="热迁移的核心是共享存储：web01 的磁盘要在 kvm01 和 kvm02 同一路径挂载的 NFS 上（/data/centos7.qcow2）",
                  en="Live migration rests on shared storage: web01's disk belongs on the NFS both hosts mount at the same path (/data/centos7.qcow2)")
def test_kvm16_live_migration_disk_on_shared_storage(kvm01, kvm02, params):
    """web01's disk on kvm02 is on shared storage, and kvm01 sees the same file at the same path."""
    disk = _vda(_running(kvm02, params.vm))
    assert disk, f"{params.vm} on kvm02 has no vda"
    on2 = _mount(kvm02, disk, size=True)
    assert on2 and on2[1] in SHARED_FSTYPES, \
        f"{params.vm}'s disk {disk} is on {on2[1] if on2 else 'nothing'} ({on2[0] if on2 else '?'}): local to kvm02, not shared storage"
    on1 = _mount(kvm01, disk, size=True)
    assert on1, f"kvm01 has no {disk}: the disk must be at the same path on both hosts"
    assert on1[0] == on2[0], f"kvm01 sees {disk} on {on1[0]}, kvm02 on {on2[0]}: not the same storage"
    assert on1[3] == on2[3], f"{disk} has {on1[3]} bytes on kvm01 and {on2[3]} on kvm02: not the same file"


@pytest.mark.points(1)
@pytest.mark.hint(zh="要热迁移正在运行的 web01（virt-manager 的 Migrate），不是在 kvm02 上重新 define/start",
                  en="Migrate the running web01 live (virt-manager's Migrate), do not define/start it again on kvm02")
def test_kvm16_live_migration_came_in_live(kvm02, params):
    """web01's QEMU on kvm02 was started to receive a migration (-incoming); libvirt's record of it, when kept, shows a completed incoming migration with a short downtime."""
    _running(kvm02, params.vm)
    pid = _qemu_pid(kvm02, params.vm)
    assert pid, f"cannot find the QEMU process of {params.vm} on kvm02"
    args = kvm02.run("tr '\\0' ' ' < /proc/%s/cmdline", pid).stdout
    assert re.search(r"\s-incoming\s", args), \
        f"{params.vm}'s QEMU on kvm02 was started, not migrated in: it was booted there (no -incoming in its command line)"
    res = kvm02.run("virsh domjobinfo %s --completed --keep-completed", params.vm)
    evidence.add(f"kvm02: virsh domjobinfo {params.vm} --completed --keep-completed", res.stdout.strip() or res.stderr.strip())
    info = dict(re.findall(r"^([^:\n]+):\s+(.*?)\s*$", res.stdout, re.M))
    if info.get("Job type") == "Completed" and info.get("Operation") == "Incoming migration":
        words = info.get("Total downtime", "").split()
        if words and words[0].isdigit():
            assert int(words[0]) <= params.max_downtime_ms, f"the migration stopped the guest for {words[0]} ms"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="热迁移时虚拟机不能重启：迁移后 uptime 继续增加（不要用冷迁移或重新 start 代替）",
                  en="A live migration never restarts the guest: its uptime keeps growing across it (no cold move or restart)")
def test_kvm16_live_migration_guest_kept_running(kvm02, params):
    """The guest has been up longer than its QEMU on kvm02 has run: it came in alive, not booted there."""
    _running(kvm02, params.vm)
    ip = _course_address(kvm02, params)
    if ip:  # the way in over SSH finds a bridged static guest in kvm02's ARP table: be in it
        kvm02.run("timeout 3 bash -c %s", f": < /dev/tcp/{ip}/22")
    view = guest(kvm02, params.vm)
    res = guest_run(view, "cat /proc/uptime")
    words = res.stdout.split()
    assert res.rc == 0 and words, f"the guest's /proc/uptime cannot be read: {res.stderr.strip()[:200]}"
    uptime = float(words[0])
    pid = _qemu_pid(kvm02, params.vm)
    age = kvm02.run("ps -o etimes= -p %s", pid).stdout.strip() if pid else ""
    assert age.isdigit(), f"cannot tell how long {params.vm}'s QEMU has run on kvm02"
    evidence.add("uptime", f"guest uptime {uptime:.1f} s; its QEMU process on kvm02 started {age} s ago")
    assert uptime > int(age) + 1, \
        f"the guest has been up {uptime:.1f} s, no longer than its QEMU on kvm02 ({age} s): it was booted there, not migrated live"
