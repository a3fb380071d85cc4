"""Keep what shares hosts on one xdist worker, with ``--dist loadgroup`` (or plain ``-n`` on an inventory).

The plugin marks each check ``xdist_group(<student>)`` on an inventory (all of a student's labs
reuse its SSH connections) and ``xdist_group(<lab>@<target>)`` on provisioned hosts. xdist's
``loadgroup`` turns the mark into a node-id suffix on the workers (``item._nodeid``), which
pytest 9 no longer reads (node ids come from ``Node._id``), so every check would be balanced on
its own and a student's or a lab's checks would land on several workers, each opening (or
provisioning) the same hosts again. This scheduler groups by what the node id itself says
instead — a check's parameter id is its target (``test_x[alice]``) — and still honours an
``@group`` suffix where xdist manages to add one.
"""

from __future__ import annotations

import pytest
from xdist.scheduler.loadgroup import LoadGroupScheduling


def group_of(nodeid: str, per_target: bool) -> str:
    """The work unit of a node id: ``[alice]`` (per target), ``labs/dockerfile[validate]`` (lab and
    target), the ``@group`` suffix when present, else the node id itself."""
    close = nodeid.rfind("]")
    if nodeid.rfind("@") > close:
        return nodeid.rsplit("@", 1)[-1]
    if close < 0 or "[" not in nodeid:
        return nodeid
    path, _, rest = nodeid.partition("::")
    param = rest[rest.index("[") : close + 1]
    return param if per_target else f"{path.rsplit('/', 1)[0]}{param}"


class LabGroupScheduling(LoadGroupScheduling):
    def __init__(self, config: pytest.Config, log=None, per_target: bool = False):
        super().__init__(config, log)
        self.per_target = per_target

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid, self.per_target)


class LabScheduler:
    """Registered by the plugin on the xdist controller of a lab run."""

    def __init__(self, per_target: bool):
        self.per_target = per_target

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        if config.getvalue("dist") == "loadgroup":
            return LabGroupScheduling(config, log, per_target=self.per_target)
        return None
