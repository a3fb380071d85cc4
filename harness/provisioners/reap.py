"""Remove what runs left behind: containers, volumes and networks labelled with a run id, and the
libvirt provisioner's host VMs, overlays and networks (``<metadata>`` and ``lh_<run id>_`` names).

``labctl reap`` removes leftovers of dead runs (no process holds their lock); with
``--run-id`` it removes that run's, alive or not. A run also reaps dead runs when it starts.
This is the Ryuk idea without a sidecar: the labels are the truth, the lock says who is alive.
"""

from __future__ import annotations

import logging

import docker
import docker.errors

from harness.provisioners.container import remove_labelled
from harness.core.runs import LABEL_RUN, of_run, remove_stale_lock, runs_to_reap, stale_locks

log = logging.getLogger(__name__)


def leftover_runs(client: docker.DockerClient) -> set[str]:
    runs: set[str] = set()
    flt = {"label": [LABEL_RUN]}
    for c in client.containers.list(all=True, filters=flt, ignore_removed=True):
        runs.add(c.labels.get(LABEL_RUN, ""))
    for v in client.volumes.list(filters=flt):
        runs.add((v.attrs.get("Labels") or {}).get(LABEL_RUN, ""))
    for n in client.networks.list(filters=flt):
        runs.add((n.attrs.get("Labels") or {}).get(LABEL_RUN, ""))
    runs.discard("")
    return runs


def reap(run_id: str | None = None, dry_run: bool = False, client: docker.DockerClient | None = None,
         hypervisors: list[str] | None = None) -> list[str]:
    """Remove (or with ``dry_run`` list) leftovers; returns one line per object.

    Docker objects on this machine, then the libvirt provisioner's host VMs, overlays and
    networks on ``hypervisors`` (default: ``$LABHARNESS_HYPERVISORS`` or qemu:///system; a
    hypervisor that does not answer is skipped), then the lock files of dead runs.
    Never raises for what someone else removes meanwhile (another worker's or run's reaper): 404
    and 409 "removal already in progress" are theirs. Lock files of dead runs go with them.
    """
    client = client or docker.from_env(timeout=60)
    lines = []
    try:
        found = leftover_runs(client)
    except docker.errors.APIError as exc:
        log.warning("listing leftovers failed: %s", exc)
        found = set()
    runs = runs_to_reap(found, run_id)
    for rid in runs:
        for what in remove_labelled(client, {LABEL_RUN: rid}, dry_run=dry_run):
            lines.append(f"run {rid}: {what}")
    lines += reap_libvirt(hypervisors, run_id=run_id, dry_run=dry_run)
    for rid, path in stale_locks():
        if run_id and not of_run(rid, run_id):
            continue
        if dry_run or remove_stale_lock(rid):
            lines.append(f"run {rid}: lock file {path}")
    return lines


def reap_libvirt(hypervisors: list[str] | None = None, run_id: str | None = None, dry_run: bool = False) -> list[str]:
    """The libvirt half: L1 host domains (by their ``<metadata>``), their overlays and networks."""
    from harness.provisioners.libvirt import reaping as lv

    try:
        return lv.reap(hypervisors, run_id=run_id, dry_run=dry_run)
    except Exception as exc:  # reaping must never break a run
        import logging

        logging.getLogger(__name__).warning("reaping libvirt leftovers failed: %s", exc)
        return []
