"""The labs that exist: every package under ``labs/`` that defines ``LAB``."""

from __future__ import annotations

import importlib
import pkgutil

from harness.core.errors import UsageError
from harness.core.lab import Lab


def all_labs() -> dict[str, Lab]:
    import labs

    found = {}
    for info in pkgutil.iter_modules(labs.__path__):
        if not info.ispkg:
            continue
        lab = getattr(importlib.import_module(f"labs.{info.name}"), "LAB", None)
        if isinstance(lab, Lab):
            found[lab.name] = lab
    return dict(sorted(found.items()))


def select(names: list[str] | None) -> list[Lab]:
    """The labs named (all when None), or a UsageError naming the unknown ones."""
    labs = all_labs()
    if not names:
        return list(labs.values())
    unknown = [n for n in names if n not in labs]
    if unknown:
        raise UsageError(f"unknown lab {', '.join(map(repr, unknown))} (labs: {', '.join(labs)})")
    return [labs[n] for n in names]
