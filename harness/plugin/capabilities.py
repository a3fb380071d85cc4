"""Capabilities a check may need, probed here, so that their absence is SKIP with a reason.

A probe returns None when the capability is present and the reason otherwise. In validate
mode probes look at this machine (the container provisioner's hosts share its kernel; guests
run with the accelerator the session chose). In grade mode they look at the student's own
hosts (``HOST_PROBES``), never at the grader's: a student's KVM host with VT-x is graded on it
even when the trainer's laptop has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the run's harness.plugin.session.LabSession (Any here: this module sits below the plugin)
LabSession = Any


def _kvm_accel(session: LabSession) -> str | None:
    kind, why = session.provisioner.guest_accel  # probed once, on first need
    if kind != "kvm":
        return f"guests run under TCG here ({why})"
    return None


def _ipvs(session: LabSession) -> str | None:
    if not Path("/proc/net/ip_vs").exists():
        return "the kernel has no IPVS (swarm routing mesh and VIPs need it)"
    return None


def _nfs(session: LabSession) -> str | None:
    fs = Path("/proc/filesystems").read_text()
    if "\tnfs\n" not in fs and "\tnfs4\n" not in fs:
        return "the kernel has no NFS client (no nfs in /proc/filesystems)"
    return None


PROBES = {"kvm-accel": _kvm_accel, "ipvs": _ipvs, "nfs": _nfs}

#: grade mode: capability -> (role whose hosts are asked, read-only shell test, reason when absent)
HOST_PROBES = {
    "kvm-accel": ("kvm-host", "test -c /dev/kvm && grep -Eq '(vmx|svm)' /proc/cpuinfo",
                  "{host} has no KVM acceleration (no /dev/kvm or no vmx/svm in /proc/cpuinfo)"),
    "ipvs": ("docker-host", "test -e /proc/net/ip_vs || test -d /sys/module/ip_vs || modinfo ip_vs >/dev/null 2>&1",
             "{host}'s kernel has no IPVS (swarm routing mesh and VIPs need it)"),
    "nfs": (None, "grep -Eq '\\snfs4?$' /proc/filesystems || modinfo nfs >/dev/null 2>&1",
            "{host}'s kernel has no NFS client"),
}


def missing_on_hosts(capability: str, hosts) -> str | None:
    """Grade mode: the reason the student's hosts lack ``capability``, or None.

    Asked once per host and capability (cached on the host handle); a host that cannot be
    asked raises (ERROR), like any other read of it.
    """
    if capability not in HOST_PROBES:
        from harness.core.errors import HarnessError

        raise HarnessError(f"unknown capability {capability!r} (known: {', '.join(sorted(HOST_PROBES))})")
    role, command, reason = HOST_PROBES[capability]
    for host in hosts:
        if role is not None and getattr(host.role, "value", host.role) != role:
            continue
        if capability not in host.capabilities:
            host.capabilities[capability] = host.run(command, timeout=20).rc == 0
        if not host.capabilities[capability]:
            return reason.format(host=host.name)
    return None


def missing(capability: str, session: LabSession) -> str | None:
    probe = PROBES.get(capability)
    if probe is None:
        from harness.core.errors import HarnessError

        raise HarnessError(f"unknown capability {capability!r} (known: {', '.join(sorted(PROBES))})")
    return probe(session)
