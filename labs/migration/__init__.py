"""Migration lab (catalog KVM-15, KVM-16): cold and live migration between two KVM hosts with shared storage."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and paths (catalog kvm.md KVM-15/16 and Appendix A).

    KVM-15 copies web01 and its disk through the hosts' local /data. KVM-16 needs the VM's disk
    on storage both hosts mount at the same path: the course exports /data over NFS; here the
    storage host exports ``export`` (NFS where the kernel has it, else GlusterFS) and both KVM
    hosts mount it at ``shared_dir``, so kvm02's local /data (the cold-migrated web01) stays visible.
    """

    data_dir: str = "/data"  # local on kvm01 and kvm02 (KVM-15: scp ... 10.0.1.63:/data/)
    cold_vm: str = "web01"
    cold_disk: str = "centos7.qcow2"
    cold_xml: str = "web01.xml"  # virsh dumpxml web01 > web01.xml
    cold_disk_size: int = 10737418240  # 10G, as virt-install made centos7's disk (KVM-02)
    export: str = "/data"  # what the storage host exports (the transcript: kvm01:/data)
    shared_dir: str = "/data/shared"  # where kvm01 and kvm02 mount it (the same path on both)
    live_vm: str = "vm01"  # the live-migration VM of the course's explanation (L1317)
    live_disk: str = "vm01.qcow2"
    live_disk_size: int = 1073741824
    bridge: str = "br0"  # KVM-10/15: virsh iface-bridge ens33 br0, on both hosts
    vm_memory_mib: int = 128  # the course gives web01 512 MiB; the lab guest needs far less
    # catalog C16.7: a ping running throughout loses "at most ~3 s"; libvirt's own figure reached
    # 2.4 s here at load 22 on 2 cores, so the bound leaves room for a loaded CI machine
    max_downtime_ms: int = 5000


from labs.migration.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="migration",
    title="Migration: cold (dumpxml, scp, define) and live (virsh migrate --live) between two KVM hosts with shared storage",
    topology=(HostSpec("kvm01", Role.KVM_HOST), HostSpec("kvm02", Role.KVM_HOST), HostSpec("storage", Role.STORAGE_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
)
