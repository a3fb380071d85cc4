"""Who needs a re-run: targets with ERROR checks (their points are not graded), and the first reason."""

from __future__ import annotations

from harness.core.model import CheckResult, Outcome, RunResult, TargetResult


def needs_rerun(run: RunResult) -> list[tuple[TargetResult, list[str], CheckResult]]:
    """Targets with ERROR checks, by name: (target, the labs that errored, the first ERROR check)."""
    out = []
    for t in sorted(run.targets.values(), key=lambda t: t.name):
        labs = [name for name, lab in sorted(t.labs.items()) if not lab.complete]
        if labs:
            first = next(c for name in labs for c in t.labs[name].checks if c.outcome is Outcome.ERROR)
            out.append((t, labs, first))
    return out


def error_reason(check: CheckResult) -> str:
    """Why an ERROR check needs a re-run, in one line: the reason the plugin gave it (what broke,
    without where), else the first line of its message (the controller's and journal's own words)."""
    line = check.reason or (check.message.strip().splitlines() or [""])[0]
    return line or "(no message)"
