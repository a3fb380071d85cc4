"""Negative control: a lab's checks run once on its fresh hosts, before the solution (validate mode).

A check that PASSes on a host where nobody did anything cannot tell a student who did the work
from one who did not. Validate mode runs every check of the lab on the freshly made hosts
first; the report lists those that PASS there. A check may hold on a fresh install only when
the lab's course replay says so (``Replay.fresh_passes``, with its reason): those are listed as
declared, the others as suspect.

The checks are called directly with the fixtures they take (their host fixtures, ``params``,
``hosts``, ``lab_env``): checks only observe, so running them early changes nothing.
"""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import dataclass

import pytest

from harness.core import evidence
from harness.core.lab import LabEnv

#: a negative-control check stops waiting after this long (a fresh host has nothing to wait for)
CHECK_BUDGET = 60.0


@dataclass(frozen=True)
class FreshOutcome:
    check: str
    outcome: str  # PASS, FAIL, ERROR, SKIP
    declared: str = ""  # the replay's reason, when this check is declared to hold on a fresh host
    message: str = ""

    def to_dict(self) -> dict:
        return {"check": self.check, "outcome": self.outcome, "declared": self.declared, "message": self.message}


def _checks(lab_name: str):
    module = importlib.import_module(f"labs.{lab_name}.test_{lab_name}")
    found = [(fn.__code__.co_firstlineno, name, fn) for name, fn in inspect.getmembers(module, inspect.isfunction)
             if name.startswith("test_") and fn.__module__ == module.__name__]
    return [(name, fn) for _, name, fn in sorted(found)]


def _declared(lab_name: str) -> dict[str, str]:
    from harness.core import replay

    rp = replay.load(lab_name)
    return dict(rp.fresh_passes) if rp else {}


def run_fresh(env: LabEnv) -> list[FreshOutcome]:
    """Every check of the lab on ``env``'s fresh hosts; nothing raised out of here."""
    declared = _declared(env.lab.name)
    fixtures = {"params": env.params, "hosts": env.hosts, "lab_env": env, **env.hosts}
    out = []
    for name, fn in _checks(env.lab.name):
        requires = [m for m in getattr(fn, "pytestmark", ()) if m.name == "requires"]
        if requires:
            out.append(FreshOutcome(name, "SKIP", declared.get(name, ""), "needs a capability: not run here"))
            continue
        kwargs = {p: fixtures[p] for p in inspect.signature(fn).parameters if p in fixtures}
        t0 = time.monotonic()
        evidence.start()
        try:
            fn(**kwargs)
            outcome, message = "PASS", ""
        except AssertionError as exc:
            outcome, message = "FAIL", str(exc).split("\nassert ")[0][:300]
        except pytest.skip.Exception as exc:
            outcome, message = "SKIP", str(exc)[:300]
        except Exception as exc:  # a fresh host is a state like any other: worth knowing, never fatal here
            outcome, message = "ERROR", f"{type(exc).__name__}: {exc}"[:300]
        finally:
            evidence.stop()
        if time.monotonic() - t0 > CHECK_BUDGET:
            message = (message + f" (took {time.monotonic() - t0:.0f} s on a fresh host)").strip()
        out.append(FreshOutcome(name, outcome, declared.get(name, ""), message))
    return out


def suspects(outcomes: list[FreshOutcome]) -> list[str]:
    """Checks that PASS on a fresh host without the replay declaring why."""
    return [o.check for o in outcomes if o.outcome == "PASS" and not o.declared]
