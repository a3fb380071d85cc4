"""The course's steps for KVM-09, as the harness performs them in validate mode.

Precondition (KVM-02..07): centos7 running on /data/centos7.qcow2 with the data disk vdb
/data/chaoge-add01.qcow2, VNC on the fixed port 5900. The notes then try virt-clone on the
running VM (refused), shut it off, clone, start the clone, rename it cc-centos7 (shut off: L856)
and diff the two configurations with vimdiff; neither VM is started again.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from labs.common.kvm import data_path, shutdown, virt_install, wait_agent

solution = Solution()


@solution.step("KVM-06/07 (precondition): centos7 running on centos7.qcow2 + vdb chaoge-add01.qcow2, VNC :0")
def create_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    virt_install(env, h, p.vm, memory=str(p.memory_mib), vcpus="1",
                 disks=[f"{data_path(p, p.disk)},format=qcow2,size={p.disk_size_gib}",
                        f"{data_path(p, p.data_disk)},format=qcow2,size={p.data_disk_size_gib}"],
                 network="network=default", graphics=f"vnc,listen=0.0.0.0,port={p.vnc_port}",
                 kernel_args=f"console=ttyS0,115200n8 quiet no_timer_check guestname={p.vm}")
    wait_agent(h, p.vm)


@solution.step("KVM-09: virt-clone --auto-clone -o centos7 refuses a running VM")
def clone_refused(env: LabEnv) -> None:
    # virt-clone 1.4 (the notes): "Domain with devices to clone must be paused or shutoff."
    # virt-clone 4.x: "Domain to clone must be shutoff."
    res = env["kvm01"].run("virt-clone --auto-clone -o %s", env.params.vm, timeout=120)
    if res.rc == 0 or "shutoff" not in res.stdout + res.stderr:
        raise RuntimeError(f"virt-clone of the running {env.params.vm} should fail: exit {res.rc}, {res.stderr.strip()}")


@solution.step("KVM-09: shut centos7 off, virt-clone --auto-clone -o centos7")
def clone(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    shutdown(h, p.vm)
    h.check("virt-clone --auto-clone -o %s", p.vm, timeout=300)
    h.check("ls -l %s", p.data_dir)


@solution.step("KVM-09: start centos7-clone (L850), shut it off and domrename it cc-centos7 (catalog §1.4 #7)")
def rename_and_start(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    # The notes start the clone and rename it right away; libvirt refuses to rename a running
    # domain (L856: "rename only after shutting it down"), so the clone is shut off first.
    h.check("virsh start %s", p.clone_auto)
    h.check("virsh list")
    wait_agent(h, p.clone_auto)
    shutdown(h, p.clone_auto)
    h.check("virsh domrename %s %s", p.clone_auto, p.clone)


@solution.step("KVM-09: dump both configurations and compare them (vimdiff centos7.xml.dump cc.xml.dump)")
def compare(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("cd %s && virsh dumpxml %s > %s", p.data_dir, p.vm, p.dump_vm)
    h.check("cd %s && virsh dumpxml %s > %s", p.data_dir, p.clone, p.dump_clone)
    h.run("cd %s && diff %s %s", p.data_dir, p.dump_vm, p.dump_clone)  # vimdiff is interactive


# --------------------------------------------------------------------------- typical mistakes


def _clone_name(env: LabEnv) -> str:
    p, h = env.params, env["kvm01"]
    return p.clone if h.run("virsh dominfo %s", p.clone).rc == 0 else p.clone_auto
