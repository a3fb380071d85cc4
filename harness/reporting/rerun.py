"""Who needs a re-run: targets with ERROR checks (their points are not graded), and the first reason."""

from __future__ import annotations

import re

from harness.core.model import Outcome, RunResult, TargetResult


def needs_rerun(run: RunResult) -> list[tuple[TargetResult, list[str], str]]:
    """Targets with ERROR checks, by name: (target, the labs that errored, the first error's reason)."""
    out = []
    for t in sorted(run.targets.values(), key=lambda t: t.name):
        labs = [name for name, lab in sorted(t.labs.items()) if not lab.complete]
        if labs:
            first = next(c for name in labs for c in t.labs[name].checks if c.outcome is Outcome.ERROR)
            out.append((t, labs, first.message))
    return out


def error_reason(message: str) -> str:
    """The first line of an ERROR's message, without the phase prefix the plugin adds."""
    line = (message.strip().splitlines() or [""])[0]
    for prefix in ("setting up the hosts: ", "running the check: "):
        line = line.removeprefix(prefix)
    line = re.sub(r"^[A-Z][A-Za-z]+: ", "", line)  # the exception's class name: the reason says it better
    return line or "(no message)"
