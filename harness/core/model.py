"""The grading model: what one check, one lab, one target and one run produced.

These dataclasses are the single source of truth for every report (JSON, CSV, HTML,
terminal table). They are plain data so they survive the trip from xdist workers to the
controller as JSON, and so reports can be re-rendered from ``grades.json`` alone.

Scoring rule (docs/outcomes.md): a check earns its points on PASS and nothing on FAIL.
``max_score`` is always the lab's full points, so a percentage is over everything the lab
asks. ERROR (the environment or the harness broke) and SKIP (a capability the grading side
lacks) are not the student's fault, so they are never called lost: their points are shown
apart, as ``ungraded`` and ``skipped``, and an ERROR makes the result incomplete (a re-run).
Points that could not be graded therefore never raise a percentage.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2  # 2: "finished" is a bool, with "ended" and "interrupted"; "skipped" per target; negative control


class Outcome(str, enum.Enum):
    PASS = "PASS"  # the student's state is right
    FAIL = "FAIL"  # the student's state is wrong (an assertion in a check)
    ERROR = "ERROR"  # the environment or the harness broke: never counted against the student
    SKIP = "SKIP"  # a capability is absent here; the reason says which


@dataclass(frozen=True)
class Hint:
    """What a student should do when the check fails, in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class Evidence:
    """A piece of what the harness saw (command output, XML, inspect JSON), for disputes."""

    name: str
    text: str


@dataclass(frozen=True)
class StepFailure:
    """The step of a lab's reference solution that broke (validate mode)."""

    step: str
    message: str


@dataclass
class EnvRecord:
    """What one finished environment (a lab on a target's hosts) tells the run: its wall time, the
    solution step that broke, each step's time, whether its hosts were kept, the negative control
    (validate mode) and the guest accelerator. Made by ``LabSession.close_env`` on the worker that
    ran the lab, shipped to the controller with a teardown report, kept in the journal."""

    lab: str
    target: str
    duration: float = 0.0
    solution_failure: StepFailure | None = None
    steps: dict[str, float] = field(default_factory=dict)  # step title -> seconds
    kept: bool = False
    negative_control: list[dict[str, str]] = field(default_factory=list)  # as LabResult.negative_control
    accel: str = ""  # e.g. "tcg (/dev/kvm does not boot a kernel)"; empty where not probed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnvRecord:
        sf = d.get("solution_failure")
        return cls(lab=d["lab"], target=d["target"], duration=d.get("duration", 0.0),
                   solution_failure=StepFailure(**sf) if sf else None, steps=dict(d.get("steps") or {}),
                   kept=bool(d.get("kept", False)), negative_control=list(d.get("negative_control") or []),
                   accel=d.get("accel", ""))


@dataclass
class CheckResult:
    nodeid: str
    lab: str
    target: str
    check: str  # the check's function name, e.g. "test_image_converted_to_qcow2"
    title: str  # first line of its docstring, for people
    points: float
    outcome: Outcome
    message: str = ""  # why it failed/errored/skipped; empty on PASS
    hint: Hint | None = None
    evidence: list[Evidence] = field(default_factory=list)
    duration: float = 0.0
    reason: str = ""  # an ERROR's cause in one line, without where it happened (re-run lists); "" = the message's

    @property
    def earned(self) -> float:
        return self.points if self.outcome is Outcome.PASS else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["outcome"] = self.outcome.value
        d["earned"] = self.earned
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        d = {k: v for k, v in d.items() if k != "earned"}
        d["outcome"] = Outcome(d["outcome"])
        d["hint"] = Hint(**d["hint"]) if d.get("hint") else None
        d["evidence"] = [Evidence(**e) for e in d.get("evidence", [])]
        return cls(**d)


def _points(checks: list[CheckResult], *outcomes: Outcome) -> float:
    return sum(c.points for c in checks if c.outcome in outcomes)


@dataclass
class LabResult:
    lab: str
    target: str
    checks: list[CheckResult] = field(default_factory=list)
    solution_failure: StepFailure | None = None
    duration: float = 0.0  # wall time of the lab for this target: provisioning, solution, checks
    # validate mode: each check's outcome on the fresh hosts, before the solution ({check, outcome,
    # declared, message}); a PASS there that the replay does not declare cannot tell a student who
    # did the work from one who did not (harness/plugin/negative.py)
    negative_control: list[dict[str, str]] = field(default_factory=list)

    @property
    def fresh_suspects(self) -> list[str]:
        return [n["check"] for n in self.negative_control if n["outcome"] == "PASS" and not n.get("declared")]

    @property
    def score(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def max_score(self) -> float:
        """The lab's full points, whatever could be graded (see the module docstring)."""
        return sum(c.points for c in self.checks)

    @property
    def graded(self) -> float:
        """Points that were graded: PASS and FAIL checks."""
        return _points(self.checks, Outcome.PASS, Outcome.FAIL)

    @property
    def ungraded(self) -> float:
        return _points(self.checks, Outcome.ERROR)

    @property
    def skipped(self) -> float:
        return _points(self.checks, Outcome.SKIP)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.checks if c.outcome is outcome)

    @property
    def complete(self) -> bool:
        """True when nothing errored: the score is final."""
        return self.count(Outcome.ERROR) == 0

    @property
    def full_marks(self) -> bool:
        return self.complete and self.count(Outcome.FAIL) == 0 and bool(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "target": self.target,
            "score": self.score,
            "max_score": self.max_score,
            "ungraded": self.ungraded,
            "skipped": self.skipped,
            "counts": {o.value: self.count(o) for o in Outcome},
            "solution_failure": dataclasses.asdict(self.solution_failure) if self.solution_failure else None,
            "duration": self.duration,
            "negative_control": self.negative_control,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabResult:
        sf = d.get("solution_failure")
        return cls(
            lab=d["lab"],
            target=d["target"],
            checks=[CheckResult.from_dict(c) for c in d["checks"]],
            solution_failure=StepFailure(**sf) if sf else None,
            duration=d.get("duration", 0.0),
            negative_control=d.get("negative_control", []),
        )


@dataclass
class TargetResult:
    """One student's machines, or one provisioned environment."""

    name: str
    labs: dict[str, LabResult] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(lab.score for lab in self.labs.values())

    @property
    def max_score(self) -> float:
        return sum(lab.max_score for lab in self.labs.values())

    @property
    def ungraded(self) -> float:
        return sum(lab.ungraded for lab in self.labs.values())

    @property
    def skipped(self) -> float:
        return sum(lab.skipped for lab in self.labs.values())

    @property
    def complete(self) -> bool:
        return all(lab.complete for lab in self.labs.values())

    @property
    def percent(self) -> float | None:
        return 100.0 * self.score / self.max_score if self.max_score else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "ungraded": self.ungraded,
            "skipped": self.skipped,
            "complete": self.complete,
            "labs": {name: lab.to_dict() for name, lab in sorted(self.labs.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetResult:
        return cls(name=d["name"], labs={k: LabResult.from_dict(v) for k, v in d["labs"].items()})


@dataclass
class RunResult:
    run_id: str
    mode: str  # "grade" or "validate"
    provisioner: str
    started: str  # ISO 8601, UTC
    ended: str = ""  # ISO 8601, UTC, when the run finished normally ("" if it did not)
    interrupted: str = ""  # why the run did not finish (Ctrl-C, a killed controller...), "" if it did
    targets: dict[str, TargetResult] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # e.g. accel=tcg, image=..., harness version

    def add(self, check: CheckResult) -> None:
        target = self.targets.setdefault(check.target, TargetResult(check.target))
        lab = target.labs.setdefault(check.lab, LabResult(check.lab, check.target))
        lab.checks.append(check)

    def lab(self, target: str, lab: str) -> LabResult:
        t = self.targets.setdefault(target, TargetResult(target))
        return t.labs.setdefault(lab, LabResult(lab, target))

    @property
    def labs(self) -> list[str]:
        return sorted({lab for t in self.targets.values() for lab in t.labs})

    @property
    def finished(self) -> bool:
        """True only for a run that reached its end: an interrupted run's report says it is partial."""
        return bool(self.ended) and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "labharness/grades",
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "mode": self.mode,
            "provisioner": self.provisioner,
            "started": self.started,
            "finished": self.finished,
            "ended": self.ended,
            "interrupted": self.interrupted,
            "environment": dict(self.environment),
            "labs": self.labs,
            "targets": {name: t.to_dict() for name, t in sorted(self.targets.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        version = d.get("schema_version")
        if version not in (1, SCHEMA_VERSION):
            raise ValueError(f"grades.json schema_version {version!r}, expected {SCHEMA_VERSION}")
        if version == 1:  # "finished" was the end time
            d = {**d, "ended": d.get("finished") or "", "interrupted": "" if d.get("finished") else "unknown (schema 1)"}
        return cls(
            run_id=d["run_id"],
            mode=d["mode"],
            provisioner=d["provisioner"],
            started=d["started"],
            ended=d.get("ended", ""),
            interrupted=d.get("interrupted", ""),
            environment=d.get("environment", {}),
            targets={k: TargetResult.from_dict(v) for k, v in d["targets"].items()},
        )
