"""Who in a demo class is in which state, and the course replay's mistakes each state makes."""

from __future__ import annotations

from harness.core import replay
from harness.core.errors import UsageError
from harness.core.lab import Lab

STATES = ("complete", "partial", "broken", "unreachable", "badkey", "nodaemon")
NEEDS_HOSTS = {"complete": "complete", "partial": "partial", "broken": "broken",
               "badkey": "complete"}  # state -> the prepared lab hosts it uses
ERROR_STATES = ("unreachable", "badkey")


def default_mix(n: int) -> list[str]:
    """States for ``n`` students: mostly complete/partial/broken, a few needing a re-run."""
    if n < 1:
        raise UsageError("demo-class: the class needs at least 1 student")
    if n < 4:
        return ["complete", "partial", "broken"][:n]
    counts = {"unreachable": max(1, n // 10), "badkey": 1 if n >= 10 else 0, "nodaemon": 1 if n >= 10 else 0}
    rest = n - sum(counts.values())
    counts["broken"] = max(1, rest // 4)
    counts["partial"] = max(1, round(rest * 0.4))
    counts["complete"] = rest - counts["broken"] - counts["partial"]
    return interleave(counts)


def interleave(counts: dict[str, int]) -> list[str]:
    """Spread the states over the roster (s01 complete, s02 partial, s03 broken, ...)."""
    left = {s: counts.get(s, 0) for s in STATES}
    out: list[str] = []
    while any(left.values()):
        for s in STATES:
            if left[s]:
                out.append(s)
                left[s] -= 1
    return out


def parse_mix(text: str, n: int | None) -> list[str]:
    counts: dict[str, int] = {}
    for part in text.split(","):
        state, sep, count = part.strip().partition("=")
        if not sep or state not in STATES or not count.isdigit():
            raise UsageError(f"--mix {text!r}: expected STATE=COUNT,... with states {', '.join(STATES)}")
        counts[state] = counts.get(state, 0) + int(count)
    total = sum(counts.values())
    if n is not None and total != n:
        raise UsageError(f"--mix gives {total} students, but the class has {n}")
    if total < 1:
        raise UsageError("--mix: the class needs at least 1 student")
    return interleave(counts)


def mistakes_for(lab: Lab, state: str):
    """The typical mistakes a student in ``state`` made: the course replay's, typed the course's way."""
    rp = replay.load(lab.name)
    pool = rp.mistakes if rp is not None else ()
    if state == "partial":
        return pool[::2]
    if state == "broken":
        return pool
    return ()
