"""Reports of a run (DESIGN.md section 6): ``grades.json``, ``grades.csv``, ``report.html`` with a
page per target, and the terminal score table.

Every writer reads only the :class:`~harness.core.model.RunResult`, so all reports can be rebuilt
from ``grades.json`` alone (``load_run``).
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.model import RunResult, TargetResult
from harness.reporting.csvout import floor_percent, fmt_num, write_csv
from harness.reporting.html import target_slug, write_html
from harness.reporting.jsonout import load_run, write_json
from harness.reporting.rerun import error_reason, needs_rerun

__all__ = ["ReportPaths", "load_run", "needs_rerun", "score_table", "target_slug", "terminal_safe", "write_reports"]


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """Student-written text made harmless for a terminal, and visible: escape sequences and other
    control characters (C0, DEL, C1), and the invisible format characters (bidi overrides, zero-width)
    are shown escaped (``\\x1b[31m``, ``\\r``, ``\\u202e``) instead of acting on the trainer's terminal.
    Tabs stay; newlines stay only with ``keep_newlines`` (else ``\\n``)."""
    out = []
    for ch in text:
        if ch == "\t" or (ch == "\n" and keep_newlines):
            out.append(ch)
            continue
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append({"\n": "\\n", "\r": "\\r"}.get(ch, f"\\x{o:02x}"))
        elif unicodedata.category(ch) in ("Cf", "Zl", "Zp"):
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class ReportPaths:
    dir: Path
    json: Path
    csv: Path
    html: Path
    targets: dict[str, Path] = field(default_factory=dict)  # target name -> its own page

    def all(self) -> list[Path]:
        return [self.json, self.csv, self.html, *self.targets.values()]


def write_reports(run: RunResult, report_dir: Path) -> ReportPaths:
    """Write grades.json, grades.csv, report.html and targets/<slug>.html under ``report_dir``
    (created if missing); return where they are."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = write_json(run, report_dir / "grades.json")
    csv_path = write_csv(run, report_dir / "grades.csv")
    html_path, pages = write_html(run, report_dir)
    return ReportPaths(dir=report_dir, json=json_path, csv=csv_path, html=html_path, targets=pages)


# ------------------------------------------------------------------ terminal score table

_NAME_MAX = 24  # display columns for the target name before it is cut with "~"
_NAME_MIN = 10
_LAB_MIN = 6
_WIDTH = 80
_GAP = "  "


def _width(s: str) -> int:
    """Display columns of ``s`` in a terminal (CJK and fullwidth characters take two)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s
    )


def _cut(s: str, width: int) -> str:
    if _width(s) <= width:
        return s
    out, used = "", 0
    for ch in s:
        w = _width(ch)
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "~"


def _pad(s: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - _width(s))
    return fill + s if right else s + fill


def _cell(score: float, max_score: float, incomplete: bool) -> str:
    # the marker column is always there so the numbers line up: "7/10 " and "3/10!"
    return f"{fmt_num(score)}/{fmt_num(max_score)}" + ("!" if incomplete else " ")


def _percent(t: TargetResult) -> str:
    p = floor_percent(t.percent, 0)
    return "-" if p is None else f"{fmt_num(p)}%"


def _first_line(s: str) -> str:
    lines = s.strip().splitlines()
    return lines[0] + (" ..." if len(lines) > 1 else "") if lines else ""


def rerun_lines(run: RunResult) -> list[str]:
    rows = needs_rerun(run)
    if not rows:
        return []
    n = len(rows)
    out = [f"Re-run needed for {n} target{'s' if n != 1 else ''} (ERROR checks are not graded):"]
    for t, labs, first in rows:
        lines = textwrap.wrap(terminal_safe(f"{t.name} [{', '.join(labs)}]: {error_reason(first)}"), _WIDTH - 2,
                              subsequent_indent="    ", break_on_hyphens=False)
        out += [_cut("  " + ln, _WIDTH) for ln in lines[:2]]
        if len(lines) > 2:
            out[-1] = _cut(out[-1], _WIDTH - 1) + "~" if not out[-1].endswith("~") else out[-1]
    return out


def score_table(run: RunResult) -> str:
    """The class's scores as a plain-text table for the terminal.

    Rows: targets by score (descending), then name. Columns: one per lab (``7/10``; ``!`` = the lab
    had ERROR checks, its score is incomplete; ``-`` = the target did not run the lab), Total, %.
    Then a line per broken reference-solution step, and a legend.
    """
    labs = run.labs
    targets = sorted(run.targets.values(), key=lambda t: (-t.score, t.name))

    rows: list[list[str]] = []
    for t in targets:
        cells = [terminal_safe(t.name)]
        for lab in labs:
            r = t.labs.get(lab)
            cells.append("- " if r is None else _cell(r.score, r.max_score, not r.complete))
        cells.append(_cell(t.score, t.max_score, not t.complete))
        cells.append(_percent(t))
        rows.append(cells)

    # Lab and Total headers end one column early, above the digits and not above the "!" column.
    headers = ["Target", *[lab + " " for lab in labs], "Total ", "%"]
    # Data cells are never cut; target names and lab headers are, to stay within 80 columns.
    data_w = [max([_width(r[i]) for r in rows], default=0) for i in range(len(headers))]
    widths = [max(_width(h), d) for h, d in zip(headers, data_w)]
    widths[0] = min(widths[0], _NAME_MAX)

    def total() -> int:
        return sum(widths) + len(_GAP) * (len(widths) - 1)

    # Too wide: take one column at a time off the widest of the name and lab headers (never below
    # their data), so they end up cut evenly.
    floors = [min(widths[0], _NAME_MIN)] + [max(d, _LAB_MIN) for d in data_w[1 : len(labs) + 1]]
    while total() > _WIDTH:
        i = max(range(len(floors)), key=lambda i: (widths[i] - floors[i] > 0, widths[i]))
        if widths[i] <= floors[i]:
            break
        widths[i] -= 1

    def line(cells: list[str], header: bool = False) -> str:
        parts = [_pad(_cut(cells[0], widths[0]), widths[0], right=False)]
        for c, w in zip(cells[1:], widths[1:]):
            if header and c.endswith(" "):
                c = _cut(c[:-1], w - 1) + " "
            parts.append(_pad(_cut(c, w), w, right=True))
        return _GAP.join(parts).rstrip()

    out = [line(headers, header=True), _GAP.join("-" * w for w in widths)]
    out += [line(r) for r in rows] if rows else ["(no targets)"]

    if any(_width(h) > w for h, w in zip(headers[1 : len(labs) + 1], widths[1:])):
        out += textwrap.wrap("Labs: " + ", ".join(labs), _WIDTH, subsequent_indent="      ", break_on_hyphens=False)

    for t in sorted(run.targets.values(), key=lambda t: t.name):
        for lab_name in sorted(t.labs):
            sf = t.labs[lab_name].solution_failure
            if sf:
                who = f" [{t.name}]" if len(run.targets) > 1 else ""
                out.append(terminal_safe(f"validate{who}: lab {lab_name}, step {sf.step} broke: {_first_line(sf.message)}"))
            suspects = t.labs[lab_name].fresh_suspects
            if suspects:
                who = f" [{t.name}]" if len(run.targets) > 1 else ""
                out.append(terminal_safe(f"negative control{who}: lab {lab_name}: {len(suspects)} check(s) PASS on "
                                         f"a fresh host: {', '.join(suspects)}"))

    out += rerun_lines(run)
    out.append("Legend: 7/10 = points earned/all points (ERROR, SKIP: shown apart, never lost)")
    out.append("        ! = incomplete: ERROR checks not graded, re-run; - = lab not run")
    return "\n".join(out) + "\n"
