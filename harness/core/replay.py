"""A course replay: the notes' own lines, typed on a student's hosts, to prove the checks.

Our reference solution (``solution.py``) is written by us, so checks that only ever meet it
come to fit it: names we invented, state only our steps leave. A replay is what a student
does: the literal lines of the notes (cited by seed and line), with only the adaptations this
machine forces (stand-in images, no internet), each written down. The replay tests grade a
host in every replay state (fresh, complete, each typical mistake alone, all of them, and an
unreachable host) and assert the outcome of every check, as written in the lab's README.

A line is typed as the student types it: ``bash -c LINE`` on the host, in the home directory
of root, with a deadline. Files the notes show (a Dockerfile, a compose file) are put on the
host byte for byte, as the student would write them with vi.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from harness.core.errors import HarnessError
from harness.core.lab import LabEnv, Solution


@dataclass(frozen=True)
class Line:
    """One line of the notes, typed on ``host``; ``seed`` says where it comes from ("000:L2345").

    ``fails``: the notes themselves show this line failing (or it is harmless if it does), so a
    non-zero exit does not stop the replay. ``cwd``: the directory the notes are in (``cd`` of
    an earlier line; each line runs in a fresh shell).
    """

    host: str
    text: str
    seed: str
    cwd: str = "/root"
    timeout: float = 300.0
    fails: bool = False


@dataclass(frozen=True)
class File:
    """A file the notes show and the student writes (vi, cat > ...): put on ``host`` as is.

    ``source`` is relative to the lab's ``files/`` folder, or to ``labs/common/files/`` for a
    file several labs share.
    """

    host: str
    path: str
    source: str
    seed: str
    mode: int = 0o644


@dataclass(frozen=True)
class Wait:
    """Wait until ``text`` succeeds on ``host`` (a VM booting, a service starting): what a
    student does by looking again a moment later. Not a graded action, so it may retry."""

    host: str
    text: str
    why: str
    timeout: float = 300.0
    every: float = 2.0


Action = Union[Line, File, Wait]


@dataclass(frozen=True)
class ReplayMistake:
    """A typical mistake done the course's way: ``lines`` typed after the complete replay make
    exactly ``fails`` FAIL; ``undo`` brings the host back to the complete state."""

    name: str
    description: str
    lines: tuple[Action, ...]
    undo: tuple[Action, ...]
    fails: frozenset[str]


@dataclass(frozen=True)
class Replay:
    """A lab's course replay: the notes' lines in order, the mistakes, and what the checks expect.

    ``fresh_passes``: checks that hold on a freshly made host, each with its reason (e.g. "dockerd
    answers after apt install"); every other check must FAIL on a fresh host.
    ``adaptations``: what this machine forces and the notes do not say (listed in the README).
    """

    actions: tuple[Action, ...]
    mistakes: tuple[ReplayMistake, ...] = ()
    fresh_passes: Mapping[str, str] = field(default_factory=dict)
    adaptations: tuple[str, ...] = ()

    def perform(self, env: LabEnv) -> None:
        run_actions(env, self.actions)

    def mistake(self, name: str) -> ReplayMistake:
        for m in self.mistakes:
            if m.name == name:
                return m
        raise HarnessError(f"no replay mistake {name!r} (there are: {', '.join(m.name for m in self.mistakes)})")


class ReplayError(HarnessError):
    """A line of the notes did not do on this host what the notes show."""


def run_actions(env: LabEnv, actions: tuple[Action, ...]) -> None:
    """Type each action on its host; stop at the first line that fails unexpectedly, naming it."""
    for action in actions:
        host = env[action.host]
        if isinstance(action, Line):
            res = host.run("cd %s && bash -c %s", action.cwd, action.text, timeout=action.timeout)
            if res.rc != 0 and not action.fails:
                out = (res.stdout + res.stderr).strip()[-600:]
                raise ReplayError(f"{action.host}$ {action.text}  [{action.seed}] exited {res.rc}: {out}")
        elif isinstance(action, File):
            src = env.lab.files / action.source
            if not src.exists():  # a file several labs share (labs/common/files/)
                src = env.lab.package_dir.parent / "common" / "files" / action.source
            host.run("mkdir -p %s", str(Path(action.path).parent))
            host.put_file(action.path, src.read_bytes(), mode=action.mode)
        elif isinstance(action, Wait):
            deadline = time.monotonic() + action.timeout
            last = None
            while True:
                last = host.run("bash -c %s", action.text, timeout=min(60.0, action.timeout))
                if last.rc == 0:
                    break
                if time.monotonic() > deadline:
                    out = (last.stdout + last.stderr).strip()[-400:]
                    raise ReplayError(f"{action.host}: {action.why}: not within {action.timeout:.0f} s "
                                      f"({action.text} exited {last.rc}: {out})")
                time.sleep(action.every)
        else:  # pragma: no cover - a lab wrote something else into its replay
            raise HarnessError(f"unknown replay action {action!r}")


def typed_step(solution: Solution, title: str, actions: tuple[Action, ...]) -> None:
    """Register a solution step that types ``actions`` (validate mode follows the notes' own lines)."""
    solution.step(title)(lambda env: run_actions(env, actions))


def load(lab_name: str) -> Replay | None:
    """The lab's course replay (``labs/<lab>/replay.py``: ``REPLAY``), or None if it has none yet."""
    import importlib

    try:
        module = importlib.import_module(f"labs.{lab_name}.replay")
    except ModuleNotFoundError as exc:
        if exc.name == f"labs.{lab_name}.replay":
            return None
        raise
    return module.REPLAY


FRESH, COMPLETE, ALL_MISTAKES, UNREACHABLE = "fresh", "complete", "all mistakes", "unreachable"


def expected_outcomes(replay: Replay, checks: list[str], requires: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """State -> check -> outcome, as the replay tests assert and the lab's README shows.

    ``requires``: check -> capability it needs; such a check shows "PASS/SKIP" where it would
    PASS (SKIP only where this machine lacks the capability). "/" separates the outcomes a
    state allows (a "|" would break the README's Markdown table).
    """
    requires = requires or {}

    def ok(check: str) -> str:
        return "PASS/SKIP" if check in requires else "PASS"

    def fail(check: str) -> str:
        return "FAIL/SKIP" if check in requires else "FAIL"

    table: dict[str, dict[str, str]] = {
        FRESH: {c: ok(c) if c in replay.fresh_passes else fail(c) for c in checks},
        COMPLETE: {c: ok(c) for c in checks},
    }
    for m in replay.mistakes:
        table[m.name] = {c: fail(c) if c in m.fails else ok(c) for c in checks}
    if len(replay.mistakes) > 1:
        every = set().union(*(m.fails for m in replay.mistakes))
        table[ALL_MISTAKES] = {c: fail(c) if c in every else ok(c) for c in checks}
    table[UNREACHABLE] = {c: "ERROR/SKIP" if c in requires else "ERROR" for c in checks}
    return table


def markdown_table(replay: Replay, checks: list[str], requires: Mapping[str, str] | None = None) -> str:
    """The README's table of replay states x checks (``scripts/replay_table.py`` writes it)."""
    table = expected_outcomes(replay, checks, requires)
    states = list(table)
    lines = ["| check | " + " | ".join(states) + " |", "|---|" + "---|" * len(states)]
    for c in checks:
        lines.append(f"| `{c}` | " + " | ".join(table[s][c] for s in states) + " |")
    return "\n".join(lines)


def checks_of(lab_name: str) -> tuple[list[str], dict[str, str]]:
    """The lab's checks in file order, and those that need a capability (check -> capability)."""
    import importlib
    import inspect

    module = importlib.import_module(f"labs.{lab_name}.test_{lab_name}")
    names, requires = [], {}
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if not name.startswith("test_") or fn.__module__ != module.__name__:
            continue
        names.append((fn.__code__.co_firstlineno, name))
        for mark in getattr(fn, "pytestmark", ()):
            if mark.name == "requires":
                requires[name] = ",".join(mark.args)
    return [n for _, n in sorted(names)], requires
