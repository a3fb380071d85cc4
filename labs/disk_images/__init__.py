"""Disk images lab (catalog KVM-05, KVM-06, KVM-07): qemu-img, raw to qcow2, a second disk.

Course replay: replay.py (the notes' lines); README.md lists its adaptations and the expected
outcome of every check in every replay state."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and sizes (catalog kvm.md Appendix A, the notes' own values); the VM is the
    lab guest, not CentOS 7."""

    data_dir: str = "/data"
    vm: str = "centos7"
    raw_disk: str = "centos2.raw"  # the VM's disk before KVM-06
    qcow2_disk: str = "centos7.qcow2"  # and after
    vm_disk_size: int = 10737418240  # 10G, as virt-install made it in KVM-02
    scratch_qcow2: str = "chaoge.qcow2"  # KVM-05
    scratch_raw: str = "chaoge.raw"
    scratch_size: int = 7516192768  # 2G + 5G
    add_disk: str = "chaoge-add01.qcow2"  # KVM-07
    add_disk_size: int = 5368709120  # 3G + 2G
    add_target: str = "vdb"
    mountpoint: str = "/mnt"
    vm_memory_mib: int = 1024  # --memory 1024 (KVM-02); not graded here, used by the reference solution


from labs.disk_images.solution import solution  # noqa: E402

LAB = Lab(
    name="disk_images",
    title="Disk images: qemu-img create/info/resize/convert, raw to qcow2, a second disk",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
