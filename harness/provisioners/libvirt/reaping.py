"""Reaping: what a run made on its hypervisors, removed — a dead run's, or one environment's.

Everything made carries the run id: each domain's ``<metadata>`` (``<lh:run run_id=...
kind="l1-host">``), and the names of networks and overlays (``lh_<run id>_...``), so
``labctl reap`` removes what a dead run left on every hypervisor it is given, even what no
domain names any more (a crash between steps). A run is dead when no process holds its lock
(``harness.core.runs.run_is_alive``).
"""

from __future__ import annotations

import logging
import os

from harness.provisioners.libvirt.hypervisor import DEFAULT_URI, OBJ_PREFIX, POOL, Hypervisor
from harness.core.runs import run_is_alive, runs_to_reap

log = logging.getLogger(__name__)


def run_of(name: str) -> str | None:
    """The run id in a network or volume name ``lh_<run id>_...`` (None for other names)."""
    if name.startswith(OBJ_PREFIX) or name.startswith("." + OBJ_PREFIX):
        parts = name.lstrip(".").split("_")
        return parts[1] if len(parts) >= 3 and parts[1] else None
    return None


def remove_run(hv: Hypervisor, run_id: str | None = None, dry_run: bool = False,
               match: dict[str, str] | None = None) -> list[str]:
    """Remove the L1 domains, overlays and networks of ``run_id`` (of every dead run when None).

    ``match`` narrows domains to those whose metadata has these values (one environment);
    networks and volumes are then the ones those domains name in their metadata.
    """
    import libvirt

    removed: list[str] = []

    def wanted(rid: str | None) -> bool:
        if not rid:
            return False
        return rid == run_id if run_id else not run_is_alive(rid)

    nets: set[str] = set()
    vols: set[str] = set()
    for dom, md in hv.l1_domains():
        if not wanted(md.get("run_id")) or any(md.get(k) != v for k, v in (match or {}).items()):
            continue
        removed.append(f"{hv.uri}: domain {dom.name()}")
        nets.add(md.get("network", ""))
        vols.add(md.get("overlay", ""))
        vols.add(md.get("console", ""))
        vols.add(md.get("data", ""))
        if not dry_run:
            try:
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefine()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    log.warning("%s: removing %s: %s", hv.uri, dom.name(), exc.get_error_message())
    if match is None:  # whole runs: also what no domain names any more (a crash between steps)
        for net in hv.conn.listAllNetworks(0):
            if wanted(run_of(net.name())):
                nets.add(net.name())
        try:
            pool = hv.conn.storagePoolLookupByName(POOL)
            pool.refresh(0)
            for vol in pool.listAllVolumes(0):
                if wanted(run_of(vol.name())):
                    vols.add(vol.name())
        except libvirt.libvirtError:
            pass
    for name in sorted(n for n in nets if n):
        if dry_run:
            try:
                hv.conn.networkLookupByName(name)
                removed.append(f"{hv.uri}: network {name}")
            except libvirt.libvirtError:
                pass
        elif hv.delete_network(name):
            removed.append(f"{hv.uri}: network {name}")
    for name in sorted(v for v in vols if v):
        if dry_run:
            removed.append(f"{hv.uri}: volume {name}")
        elif hv.delete_volume(name):
            removed.append(f"{hv.uri}: volume {name}")
    return removed


def leftover_runs(hv: Hypervisor) -> set[str]:
    import libvirt

    runs = {md.get("run_id", "") for _, md in hv.l1_domains()}
    runs |= {run_of(n.name()) or "" for n in hv.conn.listAllNetworks(0)}
    try:
        pool = hv.conn.storagePoolLookupByName(POOL)
        pool.refresh(0)
        runs |= {run_of(v.name()) or "" for v in pool.listAllVolumes(0)}
    except libvirt.libvirtError:
        pass
    runs.discard("")
    return runs


def reap(uris: list[str] | None = None, run_id: str | None = None, dry_run: bool = False) -> list[str]:
    """``labctl reap``'s libvirt half: what dead runs (or ``run_id``) left on these hypervisors.

    Hypervisors that do not answer (or a machine without libvirt-python) are skipped quietly:
    a run on the container provisioner must not fail because libvirtd is down.
    """
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return []
    lines: list[str] = []
    for uri in uris or default_uris():
        try:
            hv = Hypervisor(uri)
            hv.conn  # noqa: B018 - connect now
        except Exception as exc:
            log.debug("reap: %s not reachable: %s", uri, exc)
            continue
        try:
            runs = runs_to_reap(leftover_runs(hv), run_id)
            for rid in runs:
                lines += [f"run {rid}: {what}" for what in remove_run(hv, rid, dry_run=dry_run)]
        finally:
            hv.close()
    return lines


def default_uris() -> list[str]:
    """Hypervisors to reap when none are named: $LABHARNESS_HYPERVISORS (space/comma separated) or this machine's."""
    raw = os.environ.get("LABHARNESS_HYPERVISORS", "")
    uris = [u for u in raw.replace(",", " ").split() if u]
    return uris or [DEFAULT_URI]
