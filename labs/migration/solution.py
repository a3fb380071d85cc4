"""The course's steps for KVM-15 (cold migration) and KVM-16 (live migration), as the harness
performs them in validate mode: the course replay's own lines (``replay.py``), with one
difference: web01 gets a qemu-guest-agent channel, so that validate mode reads the guest's own
view (its uptime) through the agent. The course's VMs have none; graded hosts are read over SSH.

Nothing passes from here to the checks but the hosts themselves: every check observes kvm01,
kvm02 and the storage host (libvirt, the QEMU processes and their logs, mounts, files).
"""

from __future__ import annotations

from harness.kvm.agent import AGENT_CHANNEL
from harness.core.lab import LabEnv, Solution
from harness.core.replay import Line, run_actions
from labs.common.kvm import wait_agent

solution = Solution()

#: what distinguishes validate mode's web01 from the course's: the agent channel
AGENT = f" --channel unix,target.type=virtio,target.name={AGENT_CHANNEL}"


def _precondition() -> tuple:
    from labs.migration import replay

    out = []
    for a in replay.PRECONDITION:
        if isinstance(a, Line) and a.seed == "000:L1223":
            a = Line(a.host, replay.virt_install_web01(AGENT), seed=a.seed, timeout=a.timeout)
        out.append(a)
    return tuple(out)


@solution.step("KVM-10/14 (precondition): br0 on kvm01; kvm01's /data on the shared volume; web01 from /data/centos7.qcow2, running")
def precondition(env: LabEnv) -> None:
    run_actions(env, _precondition())


@solution.step("KVM-15: kvm02 like kvm01 (br0, /data); virsh dumpxml web01 > web01.xml; scp -rp web01.xml centos7.qcow2 kvm02:/data/; virsh define + start there")
def cold_migration(env: LabEnv) -> None:
    from labs.migration import replay

    run_actions(env, replay.KVM15)


@solution.step("KVM-16: kvm02 mounts the share on /data (and at boot), drops its cold copy; web01 live to kvm02 (virsh migrate --live --persistent --undefinesource)")
def live_migration(env: LabEnv) -> None:
    from labs.migration import replay

    run_actions(env, replay.KVM16)
    # the course's web01 had been up for long: let validate mode's guest finish booting (its agent answers)
    wait_agent(env["kvm02"], env.params.vm, timeout=240)


# --------------------------------------------------------------------------- typical mistakes
# The typical mistakes are the replay's (replay.py), graded by tests/integration/test_replays.py.
