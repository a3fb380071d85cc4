"""Snapshots lab (catalog KVM-08): internal snapshots of a running qcow2 VM, revert, delete."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names (catalog kvm.md KVM-08, Appendix A); the VM is the lab guest."""

    data_dir: str = "/data"
    vm: str = "centos7"
    disk: str = "centos7.qcow2"  # the VM's disk after KVM-06 (raw cannot be snapshotted)
    disk_size_gib: int = 10
    data_disk: str = "chaoge-add01.qcow2"  # vdb from KVM-07, qcow2 too
    data_disk_size_gib: int = 5
    memory_mib: int = 1024  # --memory 1024 (QEMU allocates lazily)
    marker_dir: str = "/opt"  # the notes create a.txt ... z.txt there after the snapshot
    markers: str = "abcdefghijklmnopqrstuvwxyz"


from labs.snapshots.solution import solution  # noqa: E402

LAB = Lab(
    name="snapshots",
    title="Snapshots: snapshot-create, list, info, change the guest, snapshot-revert, snapshot-delete",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
