"""Clone lab (catalog KVM-09): virt-clone --auto-clone, rename the clone, compare the two configs."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names (catalog kvm.md KVM-09, Appendix A); the VM is the lab guest."""

    data_dir: str = "/data"
    vm: str = "centos7"
    disk: str = "centos7.qcow2"
    disk_size_gib: int = 10
    data_disk: str = "chaoge-add01.qcow2"  # vdb from KVM-07, in the persistent config (catalog §1.4 #5)
    data_disk_size_gib: int = 5
    memory_mib: int = 1024  # --memory 1024 (QEMU allocates lazily)
    vnc_port: int = 5900  # centos7's fixed VNC port; virt-clone switches the clone to autoport
    clone_auto: str = "centos7-clone"  # the name --auto-clone derives
    clone: str = "cc-centos7"  # virsh domrename centos7-clone cc-centos7
    clone_disk: str = "centos7-clone.qcow2"
    clone_data_disk: str = "chaoge-add01-clone.qcow2"
    dump_vm: str = "centos7.xml.dump"  # virsh dumpxml centos7 > centos7.xml.dump (for vimdiff)
    dump_clone: str = "cc.xml.dump"


from labs.clone.solution import solution  # noqa: E402

LAB = Lab(
    name="clone",
    title="Clone: virt-clone --auto-clone of a shut-off VM, domrename, what a clone changes",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
