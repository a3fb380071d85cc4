"""Planning a run on workers: the checks a local run would make, grouped into units (target x lab) with their specs."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import UsageError
from harness.reporting.journal import Planned

PATH_FIELDS = ("key_file", "known_hosts", "guest_key_file")


@dataclass
class Unit:
    index: int
    lab: str
    target: str
    planned: list[Planned]
    spec: dict[str, Any] = field(default_factory=dict)
    task_id: str = ""
    queued_at: float = 0.0
    seen_alive: bool = False
    received: float = 0.0  # when the controller had its result (epoch)
    started_at: float = 0.0  # when the controller first saw it STARTED (monotonic)
    done: bool = False
    resends: int = 0
    result: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.lab}@{self.target}"


class _PlanOnly:
    """Stands in for a provisioner that makes hosts while the controller only collects."""

    creates_hosts = True

    def targets(self) -> list[str]:
        from harness.provisioners.naming import VALIDATE_TARGET

        return [VALIDATE_TARGET]

    def labs_for(self, target: str) -> None:
        return None


class _Collector:
    """Collects the run's checks in process (``--collect-only``): what a local run would plan."""

    def __init__(self) -> None:
        self.planned: list[Planned] = []

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        """Validate mode: the hosts are made on the workers, so planning needs no dockerd (nor a KVM probe) here."""
        from harness.plugin.keys import SESSION_KEY

        session = config.stash.get(SESSION_KEY, None)
        if session is not None and session.provisioner_cls.creates_hosts:
            session.plan_only(_PlanOnly())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from harness.core.lab import lab_of
        from harness.plugin.recording import planned_from_item

        for item in session.items:
            lab = lab_of(getattr(item, "module", None))
            callspec = getattr(item, "callspec", None)
            if lab is None or callspec is None or "lh_target" not in callspec.params:
                continue
            self.planned.append(planned_from_item(item, lab.name, str(callspec.params["lh_target"])))


def strip_xdist(args: list[str]) -> list[str]:
    """A local run's pytest arguments without xdist's (``-n N``, ``--dist MODE``)."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-n", "--dist"):
            skip = True
            continue
        out.append(a)
    return out


def plan(args: list[str]) -> list[Planned]:
    collector = _Collector()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = pytest.main(strip_xdist(args) + ["--collect-only", "-q"], plugins=[collector])
    if int(rc) not in (0, int(pytest.ExitCode.NO_TESTS_COLLECTED)):
        tail = "\n".join(buf.getvalue().strip().splitlines()[-5:])
        raise UsageError(f"collecting the run's checks failed (pytest exit {int(rc)}):\n{tail}")
    return collector.planned


def unit_args(args: list[str]) -> list[str]:
    """The options of a local run a unit's session needs (course values, -k, --keep, host keys)."""
    out, it = [], iter(strip_xdist(args))
    for a in it:
        if a.startswith(("--lab-param=", "--keep=", "--host-key-policy=", "--known-hosts=")):
            out.append(a)
        elif a == "-k":
            out += [a, next(it)]
    return out


def _absolute_paths(node: Any, base: Path) -> Any:
    if isinstance(node, dict):
        return {k: (str((base / Path(v).expanduser()).resolve()) if k in PATH_FIELDS and isinstance(v, str)
                    and not Path(v).expanduser().is_absolute() else _absolute_paths(v, base)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_paths(v, base) for v in node]
    return node


def inventory_for(raw: dict[str, Any], target: str, lab: str) -> dict[str, Any]:
    """A one-target, one-lab inventory: what a unit's session grades."""
    entry = next(t for t in raw["targets"] if str(t.get("name")) == target)
    doc = {k: v for k, v in raw.items() if k != "targets"}
    entry = {**entry, "labs": [lab]}
    if isinstance(entry.get("lab_hosts"), dict):
        entry["lab_hosts"] = {k: v for k, v in entry["lab_hosts"].items() if k == lab}
        if not entry["lab_hosts"]:
            del entry["lab_hosts"]
    doc["targets"] = [entry]
    return _absolute_paths(doc, Path.cwd())


def make_units(planned: list[Planned], run_id: str, mode: str, args: list[str],
               raw: dict[str, Any] | None) -> tuple[list[Unit], dict[tuple[str, str, str], str]]:
    """One unit per (lab, target) with the spec a worker runs it from; and each check's node id by
    (lab, target, the id within its file), to give a unit's results the controller's node ids."""
    groups: dict[tuple[str, str], list[Planned]] = {}
    by_nodeid: dict[tuple[str, str, str], str] = {}
    for p in planned:
        groups.setdefault((p.lab, p.target), []).append(p)
        by_nodeid[(p.lab, p.target, p.nodeid.split("::", 1)[-1])] = p.nodeid
    options = unit_args(args)
    units = []
    for i, ((lab, target), checks) in enumerate(groups.items()):
        u = Unit(i, lab, target, checks)
        u.spec = {"run_id": run_id, "unit": f"u{i}", "index": i, "mode": mode, "lab": lab,
                  "target": target, "args": options,
                  "inventory": inventory_for(raw, target, lab) if raw is not None else None}
        units.append(u)
    return units, by_nodeid
