"""The course's steps for KVM-05..07, as the harness performs them in validate mode.

KVM-02 (creating the VM) is a precondition here: the lab guest (a Debian kernel with a
busybox initramfs, booted directly) is installed with virt-install on a 10G raw disk that
holds an ext4 filesystem, so "the guest reads its disk" is a real, observable outcome.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.wait import wait_until
from labs.common.kvm import data_path, guest_sh, shutdown, virt_install, wait_agent

solution = Solution()


def wait_guest_disk(env: LabEnv, dev: str, size: int | None, timeout: float = 30) -> None:
    """Until the guest sees /dev/<dev> (with ``size`` bytes), or, with size None, no longer sees it."""
    def seen() -> bool:
        out = guest_sh(env["kvm01"], env.params.vm, f"blockdev --getsize64 /dev/{dev} 2>/dev/null || echo none").strip()
        return out == "none" if size is None else out == str(size)
    wait_until(seen, timeout=timeout, what=f"guest sees /dev/{dev} {'gone' if size is None else size}")


@solution.step("KVM-02 (precondition): the centos7 VM, installed with virt-install on a 10G raw disk (network default, VNC :0)")
def create_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    # KVM-01 leaves libvirt's default network active (CentOS's package autostarts it); a host
    # image that has not started it yet (the nested L1 hosts) gets it started here
    h.check("virsh net-info default | grep -Eq '^Active: +yes' || virsh net-start default")
    h.check("mkdir -p %s", p.data_dir)
    raw = data_path(p, p.raw_disk)
    h.check("qemu-img create -q -f raw %s %s", raw, str(p.vm_disk_size))
    h.check("mkfs.ext4 -q -F -L centos7 %s", raw)
    virt_install(env, h, p.vm, memory=str(p.vm_memory_mib), vcpus="1", disks=[f"{raw},format=raw,size=10"],
                 network="network=default", graphics="vnc,listen=0.0.0.0,port=5900",
                 kernel_args=f"console=ttyS0 no_timer_check guestname={p.vm}")
    wait_agent(h, p.vm)


@solution.step("KVM-05: qemu-img create a 2G qcow2, info, resize +5G, convert to raw")
def qemu_img_practice(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    q, r = data_path(p, p.scratch_qcow2), data_path(p, p.scratch_raw)
    h.check("qemu-img create -f qcow2 %s 2G", q)
    h.check("qemu-img info %s", q)
    h.check("qemu-img resize %s +5G", q)
    h.check("qemu-img convert -f qcow2 -O raw %s %s", q, r)


@solution.step("KVM-06: shut centos7 down, convert its raw disk to qcow2, re-point the XML, start it")
def convert_vm_disk(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    raw, qcow2 = data_path(p, p.raw_disk), data_path(p, p.qcow2_disk)
    shutdown(h, p.vm)
    h.check("qemu-img convert -f raw -O qcow2 %s %s", raw, qcow2, timeout=300)
    # `virsh edit` is interactive; virt-xml makes the same two changes: driver type and source file.
    h.check("virt-xml %s --edit target=vda --disk driver.type=qcow2,path=%s", p.vm, qcow2)
    h.check("rm -f %s", raw)
    h.check("virsh start %s", p.vm)
    wait_agent(h, p.vm)


@solution.step("KVM-07: create a 3G disk, attach it live as vdb, detach, resize +2G, re-attach, format and mount it")
def add_data_disk(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    disk = data_path(p, p.add_disk)
    h.check("qemu-img create -f qcow2 %s 3G", disk)
    attach = "virsh attach-disk %s %s %s --live --cache=none --subdriver=qcow2"
    h.check(attach, p.vm, disk, p.add_target)
    wait_guest_disk(env, p.add_target, 3 * 1024**3)
    h.check("virsh detach-disk %s %s", p.vm, p.add_target)
    wait_guest_disk(env, p.add_target, None)
    h.check("qemu-img resize %s +2G", disk)
    h.check(attach, p.vm, disk, p.add_target)
    wait_guest_disk(env, p.add_target, p.add_disk_size)
    # The course formats with mkfs.xfs; the lab guest (busybox) has mke2fs.
    guest_sh(h, p.vm, f"mke2fs -q /dev/{p.add_target} && mkdir -p {p.mountpoint} && mount /dev/{p.add_target} {p.mountpoint}", timeout=120)
