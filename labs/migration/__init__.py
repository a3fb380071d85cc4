"""Migration lab (catalog KVM-15, KVM-16): cold and live migration of web01 between two KVM hosts with shared storage."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and paths (seed 000 L1244-L1494, catalog kvm.md KVM-15/16 and Appendix A).

    One VM, web01 (KVM-14), its disk /data/centos7.qcow2. KVM-15 copies web01.xml and the disk to
    kvm02's own /data; KVM-16 shares /data (the notes: kvm01 exports it over NFS, kvm02 mounts it
    on /data) and moves web01 live to kvm02. Here the share is served by the storage host
    (the notes' nfs01) and mounted on /data on both hosts (see README.md).
    """

    data_dir: str = "/data"  # kvm02's own /data (KVM-15: scp ... 10.0.1.63:/data/), and the shared /data of KVM-16
    vm: str = "web01"
    disk: str = "centos7.qcow2"
    xml: str = "web01.xml"  # virsh dumpxml web01 > web01.xml
    disk_size: int = 10737418240  # 10G, as KVM-02's virt-install made centos2.raw (size=10) and KVM-06 converted it
    export: str = "/data"  # what the NFS server exports (L1408); the GlusterFS volume is named after it: "data"
    guest_ip: str = "auto"  # web01's 10.0.1.51 (KVM-10); auto = host number 51 of kvm02's network (see test_migration.py)
    bridge: str = "br0"  # KVM-10/15: virsh iface-bridge ens33 br0, on both hosts
    # catalog C16.7: a ping running throughout loses "at most ~3 s"; libvirt's own figure reached
    # 2.4 s here at load 22 on 2 cores, so the bound leaves room for a loaded machine
    max_downtime_ms: int = 5000


from labs.migration.solution import solution  # noqa: E402

LAB = Lab(
    name="migration",
    title="Migration: cold (dumpxml, scp, define, start) and live (virt-manager / virsh migrate --live) of web01 between two KVM hosts with shared storage",
    topology=(HostSpec("kvm01", Role.KVM_HOST), HostSpec("kvm02", Role.KVM_HOST), HostSpec("storage", Role.STORAGE_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
