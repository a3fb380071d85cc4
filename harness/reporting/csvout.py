"""``grades.csv``: a row per target, a column per lab, for a spreadsheet.

UTF-8 with a BOM so Excel shows Chinese names correctly, one header row, numbers as plain
decimals (``7``, ``7.5``, never ``7.0``), rows sorted by target name so the sheet lines up
with a class roster.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from harness.core.model import RunResult, TargetResult

FILENAME = "grades.csv"
TAIL_COLUMNS = ["total", "max", "percent", "ungraded", "skipped", "complete"]

# A text cell starting with one of these is taken as a formula by Excel/LibreOffice.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def fmt_num(x: float | None, places: int = 2) -> str:
    """A plain decimal: ``7`` for 7.0, ``7.5`` for 7.5, ``0.33`` for 1/3; ``""`` for ``None``."""
    if x is None:
        return ""
    x = round(float(x), places)
    if x == 0:
        return "0"  # no "-0"
    if x == int(x):
        return str(int(x))
    return f"{x:.{places}f}".rstrip("0").rstrip(".")


def floor_percent(p: float | None, places: int = 1) -> float | None:
    """A percent rounded *down*, so 99.96 % is never shown as a full 100 %."""
    if p is None:
        return None
    scale = 10**places
    return math.floor(p * scale + 1e-9) / scale


def _text_cell(s: str) -> str:
    return "'" + s if s.startswith(_FORMULA_PREFIXES) else s


def header(run: RunResult) -> list[str]:
    return ["target", *[_text_cell(lab) for lab in run.labs], *TAIL_COLUMNS]


def row(run: RunResult, target: TargetResult) -> list[str]:
    labs = [fmt_num(target.labs[lab].score) if lab in target.labs else "" for lab in run.labs]
    return [
        _text_cell(target.name),
        *labs,
        fmt_num(target.score),
        fmt_num(target.max_score),
        fmt_num(floor_percent(target.percent)),
        fmt_num(target.ungraded),
        fmt_num(target.skipped),
        "yes" if target.complete and run.finished else "no",
    ]


def write_csv(run: RunResult, path: Path) -> Path:
    """Write ``grades.csv`` to ``path``; return ``path``."""
    path = Path(path)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)  # excel dialect: comma, CRLF, minimal quoting
        w.writerow(header(run))
        for name in sorted(run.targets):
            w.writerow(row(run, run.targets[name]))
    return path
