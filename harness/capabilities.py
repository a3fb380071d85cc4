"""Capabilities a check may need, probed here, so that their absence is SKIP with a reason.

A probe returns None when the capability is present and the reason otherwise. Probes look
at this machine because the container provisioner's hosts share its kernel; for other
provisioners the same names apply to what their hosts report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.plugin import LabSession


def guest_accel() -> tuple[str, str]:
    """("kvm" | "tcg", why) for guests on kvm-hosts: KVM only when a probe really booted one."""
    try:
        from harness import accel
        from harness.images import guest_dir

        res = accel.probe_kvm(guest_dir() / "vmlinuz", guest_dir() / "initrd.gz")
        return res.kind, res.reason
    except Exception as exc:  # no guest image yet, or the probe itself broke: TCG is always safe
        return "tcg", f"KVM probe not run: {exc}"


def _kvm_accel(session: "LabSession") -> str | None:
    if session.accel != "kvm":
        return f"guests run under TCG here ({session.accel_reason})"
    return None


def _ipvs(session: "LabSession") -> str | None:
    if not Path("/proc/net/ip_vs").exists():
        return "the kernel has no IPVS (swarm routing mesh and VIPs need it)"
    return None


def _nfs(session: "LabSession") -> str | None:
    fs = Path("/proc/filesystems").read_text()
    if "\tnfs\n" not in fs and "\tnfs4\n" not in fs:
        return "the kernel has no NFS client (no nfs in /proc/filesystems)"
    return None


PROBES = {"kvm-accel": _kvm_accel, "ipvs": _ipvs, "nfs": _nfs}


def missing(capability: str, session: "LabSession") -> str | None:
    probe = PROBES.get(capability)
    if probe is None:
        from harness.errors import HarnessError

        raise HarnessError(f"unknown capability {capability!r} (known: {', '.join(sorted(PROBES))})")
    return probe(session)
