"""How the provisioners that make hosts name an environment and mark what they make as its own.

An environment is one lab's hosts for one target. Its objects (containers, volumes and Docker
networks; L1 domains, overlays and libvirt networks) are named ``lh-<run id>-[<worker>-]<lab>[-<target>]``
and carry the same marks — run id, lab, target, xdist worker, host — as Docker labels
(``harness.core.runs.LABEL_*``) or as a domain's ``<metadata>``. The marks are the truth ``destroy``
and the reaper go by; the worker among them keeps xdist workers of one run from sharing (or
removing) each other's hosts.
"""

from __future__ import annotations

import os

from harness.core.lab import Lab
from harness.core.runs import LABEL_HOST, LABEL_LAB, LABEL_RUN, LABEL_TARGET, LABEL_WORKER, NAME_PREFIX

#: the one target of a validate run: hosts made fresh, solutions run on them
VALIDATE_TARGET = "validate"

#: a mark's key -> the Docker label that carries it
DOCKER_LABELS = {"run_id": LABEL_RUN, "lab": LABEL_LAB, "target": LABEL_TARGET, "worker": LABEL_WORKER,
                 "host": LABEL_HOST}


def xdist_worker() -> str:
    """The xdist worker this process is (gw0, ...), or "" outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def env_prefix(run_id: str, worker: str, lab: str, target: str) -> str:
    """``lh-<run id>-[<worker>-]<lab without _>[-<target>]``: short enough for container and interface names."""
    suffix = "" if target == VALIDATE_TARGET else f"-{target}"
    worker = f"{worker}-" if worker else ""
    return f"{NAME_PREFIX}{run_id}-{worker}{lab.replace('_', '')}{suffix}"


def marks(run_id: str, worker: str, lab: str, target: str, host: str = "") -> dict[str, str]:
    """What makes an object one environment's (and one host's, given ``host``)."""
    out = {"run_id": run_id, "lab": lab, "target": target, "worker": worker}
    if host:
        out["host"] = host
    return out


class MadeEnvironments:
    """The naming half of a provisioner that makes its hosts: one ``validate`` target, all labs,
    environments named and marked as above. Needs ``run_id`` and ``worker`` set by ``__init__``."""

    run_id: str
    worker: str

    def targets(self) -> list[str]:
        return [VALIDATE_TARGET]

    def labs_for(self, target: str) -> list[str] | None:
        return None

    def _prefix(self, lab: Lab, target: str) -> str:
        return env_prefix(self.run_id, self.worker, lab.name, target)

    def marks(self, lab: Lab, target: str, host: str = "") -> dict[str, str]:
        return marks(self.run_id, self.worker, lab.name, target, host)
