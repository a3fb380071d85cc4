"""Live-migration variants around the migration lab, for real, on one solved environment.

The lab grades the course's path (cold: dumpxml + scp + define + start; live: virt-manager's
Migrate, i.e. `virsh migrate --live --persistent --undefinesource web01 qemu+ssh://kvm02/system`
with /data shared). These tests drive what the lab leaves out, each on real libvirtd/QEMU hosts:

- live over qemu+tcp (libvirtd's TCP listener) on shared storage;
- live without shared storage: refused as unsafe, then done with --copy-storage-all;
- a migration aborted half-way (virsh domjobabort), and one that fails on the target: neither may leave a
  domain behind on either host, and the guest keeps running on the source.

The solution leaves web01 (with a guest agent: validate mode) running on kvm02 from the shared
/data; the VM on a local disk is made here, on the same host.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.kvm.agent import GuestAgent
from harness.kvm.domain_xml import Disk, Nic, domain_xml
from harness.kvm.guest_image import GuestImage
from harness.core.lab import LabEnv
from harness.provisioners.container import ContainerProvisioner
from harness.core.runs import RunLock, new_run_id
from harness.core.wait import wait_until
from labs.migration import LAB

TARGET = "variants"
BOOT_DIR = "/var/lib/libvirt/boot"
LOCAL_VM = "local01"
LOCAL_DISK = "/var/lib/libvirt/images/local01.qcow2"


@pytest.fixture(scope="module")
def env():
    run_id = f"mv-{new_run_id()}"
    lock = RunLock(run_id)
    lock.acquire()
    prov = ContainerProvisioner(run_id=run_id)
    try:
        hosts = prov.create(LAB, TARGET)
        lab_env = LabEnv(lab=LAB, target=TARGET, run_id=run_id, hosts=hosts, params=LAB.make_params({}))
        failure = LAB.solution.perform(lab_env)
        assert failure is None, f"the reference solution broke: {failure}"
        yield lab_env
        for h in hosts.values():
            h.close()
    finally:
        prov.destroy(LAB, TARGET)
        lock.release()


def domains(host) -> dict[str, tuple[bool, bool]]:
    """Every domain of ``host``: name -> (running, persistent)."""
    return {d.name(): (bool(d.isActive()), bool(d.isPersistent())) for d in host.libvirt.listAllDomains()}


def guest_state(host, name: str) -> str:
    """The boot id of a running guest, through its agent."""
    ga = GuestAgent(host.libvirt.lookupByName(name))
    ga.wait_ready(timeout=120)
    res = ga.exec(["cat", "/proc/sys/kernel/random/boot_id"], timeout=20)
    assert res.rc == 0, res.stderr
    return res.stdout.strip()


def hosts_of(env: LabEnv, name: str):
    """(the host running ``name``, the other one): the tests do not depend on their order."""
    k1, k2 = env["kvm01"], env["kvm02"]
    return (k1, k2) if domains(k1).get(name, (False,))[0] else (k2, k1)


def vm_disk(host, name: str) -> str | None:
    """The file behind the running domain's first disk."""
    source = ET.fromstring(host.libvirt.lookupByName(name).XMLDesc(0)).find("devices/disk/source")
    return source.get("file") if source is not None else None


def completed_job(host, name: str) -> dict[str, str]:
    out = host.check("virsh domjobinfo %s --completed --keep-completed", name)
    return dict(re.findall(r"^([^:\n]+):\s+(.*?)\s*$", out, re.M))


@pytest.fixture(scope="module")
def local_vm(env: LabEnv):
    """A small VM on a disk local to the host that runs web01 (not shared): (its host, the other)."""
    src, dst = hosts_of(env, env.params.vm)
    image = GuestImage(Path(BOOT_DIR) / "vmlinuz", Path(BOOT_DIR) / "initrd.gz")
    xml = domain_xml(LOCAL_VM, image, disks=[Disk(LOCAL_DISK)], nics=[Nic(env.params.bridge, kind="bridge")],
                     cmdline_extra="no_timer_check")
    src.check("mkdir -p %s && qemu-img create -q -f qcow2 %s 64M", str(Path(LOCAL_DISK).parent), LOCAL_DISK)
    src.put_file("/root/local01.xml", xml.encode())
    src.check("virsh define /root/local01.xml && virsh start %s", LOCAL_VM)
    return src, dst


def test_migration_live_over_qemu_tcp(env: LabEnv):
    """web01 to the other host over qemu+tcp (libvirtd's TCP listener), shared storage, no --unsafe."""
    p = env.params
    src, dst = hosts_of(env, p.vm)
    before = guest_state(src, p.vm)
    src.check("virsh migrate --live --persistent --undefinesource %s %s", p.vm, f"qemu+tcp://{dst.name}/system", timeout=300)
    assert domains(dst).get(p.vm) == (True, True)
    assert p.vm not in domains(src)
    assert guest_state(dst, p.vm) == before
    job = completed_job(dst, p.vm)
    assert (job["Job type"], job["Operation"]) == ("Completed", "Incoming migration"), job


def test_migration_without_shared_storage_is_refused_and_leaves_nothing(local_vm):
    """A VM on a disk local to its host: a plain live migration is refused as unsafe, and changes nothing."""
    src, dst = local_vm
    before = guest_state(src, LOCAL_VM)
    res = src.run("virsh migrate --live --persistent --undefinesource %s %s", LOCAL_VM, f"qemu+tcp://{dst.name}/system", timeout=120)
    assert res.rc != 0 and "Migration without shared storage is unsafe" in res.stderr, res.stderr
    assert domains(src).get(LOCAL_VM) == (True, True)
    assert LOCAL_VM not in domains(dst)
    assert guest_state(src, LOCAL_VM) == before


def test_migration_copy_storage_all(local_vm):
    """The local-disk VM to the other host live with --copy-storage-all over qemu+ssh: the disk goes along, the guest keeps running."""
    src, dst = local_vm
    before = guest_state(src, LOCAL_VM)
    dst.check("mkdir -p %s && rm -f %s && qemu-img create -q -f qcow2 %s 64M",
              str(Path(LOCAL_DISK).parent), LOCAL_DISK, LOCAL_DISK)  # the target's empty disk
    src.check("virsh migrate --live --persistent --undefinesource --copy-storage-all %s %s",
              LOCAL_VM, f"qemu+ssh://{dst.name}/system", timeout=300)
    assert domains(dst).get(LOCAL_VM) == (True, True)
    assert LOCAL_VM not in domains(src)
    assert guest_state(dst, LOCAL_VM) == before
    assert vm_disk(dst, LOCAL_VM) == LOCAL_DISK
    job = completed_job(dst, LOCAL_VM)
    assert job["Operation"] == "Incoming migration", job
    dst.run("virsh destroy %s", LOCAL_VM)  # one guest less for the tests below


def test_migration_interrupted_leaves_no_domain_behind(env: LabEnv):
    """`virsh domjobabort` in the middle of a (throttled) live migration of web01: the guest stays on the
    source, the target has nothing.

    The abort is what virsh itself sends on Ctrl-C at a terminal (it reads ^C from the tty); a SIGINT
    to a virsh without a terminal is not reliably acted on (libvirt 9.0), so the test aborts the job
    the way a second shell would."""
    p = env.params
    k1, k2 = hosts_of(env, p.vm)  # source, target
    before = guest_state(k1, p.vm)
    pid = k1.check("virsh migrate --live --persistent --undefinesource --bandwidth 1 %s %s > /tmp/lh-migrate.out 2>&1 & echo $!",
                   p.vm, f"qemu+tcp://{k2.name}/system").strip()
    try:
        # the migration is under way: the target holds the incoming (paused) domain
        wait_until(lambda: p.vm in domains(k2), timeout=60, interval=0.1, what=f"the incoming domain on {k2.name}",
                   state=lambda: k1.run("cat /tmp/lh-migrate.out").stdout)
        k1.check("virsh domjobabort %s", p.vm)
        wait_until(lambda: k1.run("kill -0 %s", pid).rc != 0, timeout=60, what="virsh migrate to exit")
    finally:  # never leave a migration running for the next test
        if k1.run("kill -0 %s", pid).rc == 0:
            k1.run("virsh domjobabort %s; kill -9 %s", p.vm, pid)
    out = k1.run("cat /tmp/lh-migrate.out").stdout
    assert "canceled by client" in out or "aborted" in out, out
    wait_until(lambda: p.vm not in domains(k2), timeout=30, what=f"no {p.vm} left on {k2.name}",
               state=lambda: domains(k2))
    assert domains(k1).get(p.vm) == (True, True)
    assert guest_state(k1, p.vm) == before


def test_migration_failed_on_target_leaves_no_domain_behind(env: LabEnv):
    """A migration whose target cannot start the guest (its kernel is missing there) fails and leaves no domain behind."""
    p = env.params
    k1, k2 = hosts_of(env, p.vm)  # source, target
    before = guest_state(k1, p.vm)
    k2.check("mv %s/vmlinuz %s/vmlinuz.away", BOOT_DIR, BOOT_DIR)
    try:
        t0 = time.monotonic()
        res = k1.run("virsh migrate --live --persistent --undefinesource %s %s", p.vm, f"qemu+tcp://{k2.name}/system", timeout=180)
        assert res.rc != 0, res.stdout
        assert "vmlinuz" in res.stderr, res.stderr
        assert time.monotonic() - t0 < 60
    finally:
        k2.check("mv %s/vmlinuz.away %s/vmlinuz", BOOT_DIR, BOOT_DIR)
    assert p.vm not in domains(k2)
    assert domains(k1).get(p.vm) == (True, True)
    assert guest_state(k1, p.vm) == before
