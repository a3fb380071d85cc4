"""VM basics lab (catalog KVM-02, KVM-03, KVM-04): virt-install, the virsh lifecycle, the serial console."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and sizes (catalog kvm.md KVM-02..04, Appendix A): what a student is graded against."""

    data_dir: str = "/data"
    vm: str = "centos7"
    disk: str = "centos2.raw"  # virt-install --disk /data/centos2.raw,format=raw,size=10
    disk_size_gib: int = 10
    memory_mib: int = 1024  # --memory 1024 (QEMU allocates lazily: the lab guest touches a few MiB of it)
    vcpus: int = 1
    network: str = "default"  # --network network=default: DHCP from 192.168.122.0/24
    network_subnet: str = "192.168.122.0/24"
    vnc_listen: str = "0.0.0.0"
    vnc_port: int = 5900  # --graphics vnc,listen=0.0.0.0,port=5900 -> vncdisplay :0
    backup: str = "bak_centos7.xml"  # virsh dumpxml centos7 > bak_centos7.xml (in /data)
    renamed: str = "cckvm7"  # virsh domrename centos7 cckvm7
    console_arg: str = "console=ttyS0,115200n8"  # grubby --update-kernel=ALL --args=...


from labs.vm_basics.solution import solution  # noqa: E402

LAB = Lab(
    name="vm_basics",
    title="First VM: virt-install, virsh lifecycle (backup/undefine/define, rename, power, autostart), serial console",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
