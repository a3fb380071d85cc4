"""``report.html``: one self-contained page for the class, and ``targets/<slug>.html`` per target.

Everything that comes from data is escaped by Jinja's autoescape (a student's host can print
HTML into an error message). The pages need no network, no fonts, no scripts: the small inline
script only adds "print this student" buttons and opens evidence before printing.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jinja2

from harness.core.model import LabResult, Outcome, RunResult, TargetResult
from harness.reporting.csvout import floor_percent, fmt_num
from harness.reporting.rerun import error_reason, needs_rerun

FILENAME = "report.html"
TARGETS_DIR = "targets"
TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"

# Evidence (virsh dumpxml, docker inspect) can be large; the HTML shows this much of each piece,
# grades.json and the evidence bundle keep it whole.
MAX_EVIDENCE_CHARS = 50_000


def target_slug(name: str) -> str:
    """A filename- and anchor-safe slug, unique per name: ``alice-3f2a9c1b``, ``t-5d41402a`` for ``张三``.

    The ASCII part is only for people; the hash of the exact name keeps ``Alice`` and ``alice``,
    or two Chinese names, apart.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    readable = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:40].strip("-")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else f"t-{digest}"


def target_page_relpath(name: str) -> str:
    return f"{TARGETS_DIR}/{target_slug(name)}.html"


def _pct_text(p: float | None) -> str:
    p = floor_percent(p)
    return "–" if p is None else f"{fmt_num(p, 1)}%"


def _clip(text: str, limit: int = MAX_EVIDENCE_CHARS) -> tuple[str, int]:
    """(the text to show, how many characters were left out)."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _counts(target: TargetResult) -> dict[str, int]:
    return {o.value: sum(lab.count(o) for lab in target.labs.values()) for o in Outcome}


@dataclass
class LabSummary:
    lab: str
    targets: int  # targets that ran the lab
    avg_score: float
    avg_max: float
    avg_percent: float | None  # mean of the targets' percents (targets with gradable points only)
    full_marks: int
    incomplete: int
    solution_failures: int


def lab_summaries(run: RunResult) -> list[LabSummary]:
    out = []
    for lab in run.labs:
        results: list[LabResult] = [t.labs[lab] for t in run.targets.values() if lab in t.labs]
        n = len(results)
        pcts = [100.0 * r.score / r.max_score for r in results if r.max_score]
        out.append(
            LabSummary(
                lab=lab,
                targets=n,
                avg_score=sum(r.score for r in results) / n if n else 0.0,
                avg_max=sum(r.max_score for r in results) / n if n else 0.0,
                avg_percent=sum(pcts) / len(pcts) if pcts else None,
                full_marks=sum(1 for r in results if r.full_marks),
                incomplete=sum(1 for r in results if not r.complete),
                solution_failures=sum(1 for r in results if r.solution_failure),
            )
        )
    return out


def histogram(run: RunResult) -> tuple[list[int], int]:
    """Target percents in ten 10 % buckets (100 % goes in the last); and how many had no gradable points."""
    buckets = [0] * 10
    ungradable = 0
    for t in run.targets.values():
        p = t.percent
        if p is None:
            ungradable += 1
        else:
            buckets[min(int(p // 10), 9) if p >= 0 else 0] += 1
    return buckets, ungradable


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its name: data is never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["step_time"] = lambda item: item[0].startswith("steps.")  # environment: per-lab step times
    env.globals.update(
        fmt=fmt_num,
        pct=_pct_text,
        floor_percent=floor_percent,
        slug=target_slug,
        page_of=target_page_relpath,
        clip=_clip,
        counts=_counts,
        reason=error_reason,
        Outcome=Outcome,
    )
    return env


def _render(run: RunResult, page: str, targets: list[TargetResult], target_pages: bool = False) -> str:
    buckets, ungradable = histogram(run) if page == "class" else ([0] * 10, 0)
    return _env().get_template(TEMPLATE).render(
        run=run,
        page=page,
        targets=targets,
        target_pages=target_pages,
        lab_summaries=lab_summaries(run) if page == "class" else [],
        buckets=buckets,
        ungradable=ungradable,
        rerun=needs_rerun(run) if page == "class" else [],
        has_solution_failures=any(
            lab.solution_failure for t in targets for lab in t.labs.values()
        ),
    )


def render_report(run: RunResult, target_pages: bool = False) -> str:
    """The class page: overview, distribution, per-lab averages, then every target's section.
    ``target_pages``: link each target to its own page ``targets/<slug>.html`` (written beside it)."""
    return _render(run, "class", [run.targets[n] for n in sorted(run.targets)], target_pages)


def render_target_page(run: RunResult, name: str) -> str:
    """One target's own page: the run header and that target's section, nothing about others."""
    return _render(run, "target", [run.targets[name]])


def write_html(run: RunResult, report_dir: Path, per_target: bool = True) -> tuple[Path, dict[str, Path]]:
    """Write ``report.html`` (and ``targets/<slug>.html`` unless ``per_target`` is false) under
    ``report_dir``; return the report's path and {target name: its page}."""
    report_dir = Path(report_dir)
    report = report_dir / FILENAME
    report.write_text(render_report(run, target_pages=per_target), encoding="utf-8")
    pages: dict[str, Path] = {}
    if per_target and run.targets:
        (report_dir / TARGETS_DIR).mkdir(parents=True, exist_ok=True)
        for name in sorted(run.targets):
            page = report_dir / target_page_relpath(name)
            page.write_text(render_target_page(run, name), encoding="utf-8")
            pages[name] = page
    return report, pages
