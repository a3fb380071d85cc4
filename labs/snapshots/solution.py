"""The course's steps for KVM-08, as the harness performs them in validate mode.

Precondition (KVM-02..07 of the course): centos7 running on /data/centos7.qcow2 with the qcow2
data disk vdb. The notes then snapshot it, create a.txt ... z.txt in /opt inside the guest,
revert, look at the snapshot's metadata file and delete the snapshot.
"""

from __future__ import annotations

import re

from harness.core.lab import LabEnv, Solution
from labs.common.kvm import data_path, guest_sh, virt_install, wait_agent

solution = Solution()


def touch_markers(env: LabEnv) -> None:
    p = env.params
    names = " ".join(f"{c}.txt" for c in p.markers)  # the guest's busybox sh has no {a..z}
    guest_sh(env["kvm01"], p.vm, f"mkdir -p {p.marker_dir} && cd {p.marker_dir} && touch {names} && sync && ls")


def snapshot_create(env: LabEnv) -> str:
    out = env["kvm01"].check("virsh snapshot-create %s", env.params.vm)
    m = re.search(r"Domain snapshot (\S+) created", out)
    if not m:
        raise RuntimeError(f"virsh snapshot-create said {out!r}")
    return m.group(1)


@solution.step("KVM-06/07 (precondition): centos7 running on /data/centos7.qcow2 with the qcow2 data disk vdb")
def create_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    virt_install(env, h, p.vm, memory=str(p.memory_mib), vcpus="1",
                 disks=[f"{data_path(p, p.disk)},format=qcow2,size={p.disk_size_gib}",
                        f"{data_path(p, p.data_disk)},format=qcow2,size={p.data_disk_size_gib}"],
                 network="network=default", graphics="vnc,listen=0.0.0.0,port=5900",
                 kernel_args=f"console=ttyS0,115200n8 quiet no_timer_check guestname={p.vm}")
    wait_agent(h, p.vm)


@solution.step("KVM-08: snapshot-create centos7, snapshot-list, snapshot-info; change the guest; snapshot-revert")
def snapshot_and_revert(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    name = snapshot_create(env)  # named after the Unix time, e.g. 1599034267
    h.check("virsh snapshot-list %s", p.vm)
    h.check("virsh snapshot-info %s --snapshotname %s", p.vm, name)
    touch_markers(env)  # "log in to the VM, make changes (create/delete files)"
    h.check("virsh snapshot-revert %s --snapshotname %s", p.vm, name)
    wait_agent(h, p.vm)
    left = guest_sh(h, p.vm, f"ls {p.marker_dir} 2>/dev/null || true").split()
    if any(f"{c}.txt" in left for c in p.markers):
        raise RuntimeError(f"after the revert the guest still has {left}")


@solution.step("KVM-08: the snapshot's metadata in /var/lib/libvirt/qemu/snapshot/centos7/, snapshot-delete")
def snapshot_delete(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("ls -l /var/lib/libvirt/qemu/snapshot/%s/", p.vm)
    for name in h.check("virsh snapshot-list %s --name", p.vm).split():
        h.check("virsh snapshot-delete %s --snapshotname %s", p.vm, name)
    h.check("ls -l /var/lib/libvirt/qemu/snapshot/%s/", p.vm)
