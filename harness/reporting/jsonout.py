"""``grades.json``: the run as :meth:`RunResult.to_dict` gives it, the source every other report
can be re-rendered from (``load_run``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.core.model import RunResult

FILENAME = "grades.json"


def dumps_run(run: RunResult) -> str:
    """The run as pretty-printed JSON text (Chinese kept readable: ``ensure_ascii=False``)."""
    return json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n"


def write_json(run: RunResult, path: Path) -> Path:
    """Write ``run`` to ``path`` (UTF-8), replacing it atomically; return ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps_run(run), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_run(path: Path | str) -> RunResult:
    """Read a ``grades.json`` back into a :class:`RunResult` (raises ``ValueError`` on a schema mismatch)."""
    with open(path, encoding="utf-8") as f:
        return RunResult.from_dict(json.load(f))
