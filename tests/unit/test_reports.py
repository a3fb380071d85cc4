"""Unit tests of the report writers (harness/reporting): pure, built from hand-made RunResults."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from harness.core.model import CheckResult, Evidence, Hint, Outcome, RunResult, StepFailure
from harness.reporting import ReportPaths, load_run, score_table, target_slug, write_reports
from harness.reporting.csvout import fmt_num
from harness.reporting.html import histogram, lab_summaries, render_report, render_target_page

XSS = "<script>alert(1)</script> & done"
ZH = "张三"


def check(target, lab, name, points, outcome, message="", hint=True, evidence=()):
    return CheckResult(
        nodeid=f"labs/{lab}/test_{lab}.py::{name}[{target}]",
        lab=lab,
        target=target,
        check=name,
        title=f"Title of {name}",
        points=points,
        outcome=outcome,
        message=message,
        hint=Hint(zh=f"中文提示 {name}", en=f"English hint {name}") if hint else None,
        evidence=[Evidence(n, t) for n, t in evidence],
        duration=0.5,
    )


def sample_run() -> RunResult:
    run = RunResult(
        run_id="20260101-120000-abcd",
        mode="grade",
        provisioner="static",
        started="2026-01-01T12:00:00Z",
        ended="2026-01-01T12:05:00Z",
        environment={"accel": "kvm", "harness": "0.1.0", "image": "<img>&co"},
    )
    P, F, E, S = Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP
    # alice: full marks on kvm-install (10), 3/5 on docker-basics
    run.add(check("alice", "kvm-install", "test_libvirtd_running", 4, P))
    run.add(check("alice", "kvm-install", "test_default_network", 6, P))
    run.add(check("alice", "docker-basics", "test_nginx_published", 3, P))
    run.add(check("alice", "docker-basics", "test_image_tagged", 2, F, message=XSS,
                  evidence=[("docker images", "REPO  TAG\n<none> <none>")]))
    # 张三: an ERROR (incomplete) and a SKIP on kvm-install, one fail on docker-basics
    run.add(check(ZH, "kvm-install", "test_libvirtd_running", 4, P))
    run.add(check(ZH, "kvm-install", "test_default_network", 6, E, message="ssh: connection timed out"))
    run.add(check(ZH, "kvm-install", "test_nested_vtx", 1.5, S, message="no nested KVM here"))
    run.add(check(ZH, "docker-basics", "test_nginx_published", 3, F, message="port 80 closed"))
    run.add(check(ZH, "docker-basics", "test_image_tagged", 2, P))
    # bob: only kvm-install, with half a point
    run.add(check("bob", "kvm-install", "test_libvirtd_running", 4, P))
    run.add(check("bob", "kvm-install", "test_default_network", 6, F, message="network default inactive"))
    run.add(check("bob", "kvm-install", "test_half", 0.5, P))
    # validate-style breakage of the reference solution
    run.lab("bob", "kvm-install").solution_failure = StepFailure("virsh net-start default", "error: <b>network</b> busy")
    return run


@pytest.fixture
def run() -> RunResult:
    return sample_run()


@pytest.fixture
def paths(run, tmp_path) -> ReportPaths:
    return write_reports(run, tmp_path / "reports" / run.run_id)


# ---------------------------------------------------------------- scoring rules (the model)


def test_error_and_skip_points_stay_in_max_and_are_shown_apart(run):
    lab = run.targets[ZH].labs["kvm-install"]
    assert lab.score == 4
    assert lab.max_score == 11.5  # the full points: 6 ERROR and 1.5 SKIP points never raise the percentage
    assert lab.graded == 4
    assert lab.ungraded == 6
    assert lab.skipped == 1.5
    assert not lab.complete
    t = run.targets[ZH]
    assert (t.score, t.max_score, t.ungraded, t.skipped, t.complete) == (6, 16.5, 6, 1.5, False)
    assert run.targets["alice"].percent == pytest.approx(13 / 15 * 100)
    assert run.targets["alice"].complete


# ---------------------------------------------------------------- grades.json


def test_json_round_trips(run, paths):
    text = paths.json.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data == run.to_dict()
    assert RunResult.from_dict(data).to_dict() == run.to_dict()
    assert load_run(paths.json).to_dict() == run.to_dict()
    assert ZH in text  # ensure_ascii=False: Chinese readable, not \\u escapes
    assert "\\u5f20" not in text
    assert text.startswith("{\n  ")  # pretty-printed


def test_load_run_rejects_other_schema(tmp_path, run):
    d = run.to_dict()
    d["schema_version"] = 999
    p = tmp_path / "grades.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ValueError):
        load_run(p)


# ---------------------------------------------------------------- grades.csv


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_csv_columns_and_values(paths):
    rows = read_csv(paths.csv)
    assert rows[0] == ["target", "docker-basics", "kvm-install", "total", "max", "percent", "ungraded", "skipped", "complete"]
    body = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert [r[0] for r in rows[1:]] == sorted(["alice", "bob", ZH])  # one row per target, by name
    assert body["alice"] == {
        "target": "alice", "docker-basics": "3", "kvm-install": "10", "total": "13", "max": "15",
        "percent": "86.6", "ungraded": "0", "skipped": "0", "complete": "yes",
    }  # 86.67 is floored, never rounded up
    assert body[ZH]["kvm-install"] == "4"
    assert body[ZH]["ungraded"] == "6"
    assert body[ZH]["complete"] == "no"
    assert body["bob"]["docker-basics"] == ""  # lab not run
    assert body["bob"]["kvm-install"] == "4.5"
    assert body["bob"]["max"] == "10.5"
    for r in rows[1:]:
        assert not any(re.fullmatch(r"-?\d+\.0", v) for v in r), r  # no trailing .0


@pytest.mark.parametrize("x, s", [(7.0, "7"), (7.5, "7.5"), (0.0, "0"), (-0.0, "0"), (1 / 3, "0.33"), (None, "")])
def test_fmt_num(x, s):
    assert fmt_num(x) == s


def test_csv_neutralises_formula_names(tmp_path):
    run = RunResult("r", "grade", "static", "2026-01-01T00:00:00Z")
    run.add(check("=HYPERLINK(1)", "lab", "test_x", 1, Outcome.PASS))
    rows = read_csv(write_reports(run, tmp_path).csv)
    assert rows[1][0] == "'=HYPERLINK(1)"


# ---------------------------------------------------------------- report.html


def test_html_escapes_everything(paths):
    html = paths.html.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; done" in html
    assert "<b>network</b>" not in html and "&lt;b&gt;network&lt;/b&gt; busy" in html
    assert "&lt;img&gt;&amp;co" in html  # environment values too
    # only our own inline script: one <script> element, no external resources
    assert html.count("<script") == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def test_html_every_target_linked(run, paths):
    html = paths.html.read_text(encoding="utf-8")
    for name in run.targets:
        s = target_slug(name)
        assert f'href="#target-{s}"' in html
        assert f'id="target-{s}"' in html
        assert f'href="targets/{s}.html"' in html
        assert paths.targets[name] == paths.dir / "targets" / f"{s}.html"
        assert paths.targets[name].is_file()
    assert f">{ZH}</a>" in html


def section(html: str, name: str) -> str:
    start = html.index(f'id="target-{target_slug(name)}"')
    end = html.find('<section class="target"', start)
    return html[start:] if end < 0 else html[start:end]


def rows_of(sec: str, check_name: str) -> str:
    """The check's row and, when present, its detail row."""
    start = sec.index(f">{check_name}</div>")
    nxt = sec.find('<tr class="o-', start)
    return sec[start:] if nxt < 0 else sec[start:nxt]


def test_html_hints_for_failed_checks_only(paths):
    html = paths.html.read_text(encoding="utf-8")
    alice = section(html, "alice")
    failed = rows_of(alice, "test_image_tagged")
    assert "中文提示 test_image_tagged" in failed and "English hint test_image_tagged" in failed
    assert "提示" in failed and "Hint" in failed
    assert "<details" in failed and "docker images" in failed and "&lt;none&gt;" in failed
    passed = rows_of(alice, "test_nginx_published")
    assert "FAIL" not in passed and "PASS" in passed
    assert "中文提示 test_nginx_published" not in html.split('id="target-')[0] + alice
    assert "English hint test_nginx_published" not in alice
    assert "English hint test_libvirtd_running" not in html  # passed everywhere


def test_html_error_skip_and_solution_failure(paths):
    html = paths.html.read_text(encoding="utf-8")
    zh = section(html, ZH)
    assert "b-incomplete" in zh and "6 points not graded" in zh
    err = rows_of(zh, "test_default_network")
    assert "ERROR" in err and "not graded" in err and "ssh: connection timed out" in err
    skip = rows_of(zh, "test_nested_vtx")
    assert "SKIP" in skip and "no nested KVM here" in skip
    assert "English hint test_nested_vtx" not in skip  # nothing a student can fix: no hint
    assert "English hint test_default_network" in err and "中文提示 test_default_network" in err
    bob = section(html, "bob")
    assert "Reference solution broke at step" in bob and "virsh net-start default" in bob
    assert "Reference solution broke" not in section(html, "alice")


def test_target_page_shows_only_that_target(run, paths):
    page = paths.targets[ZH].read_text(encoding="utf-8")
    assert ZH in page and f'id="target-{target_slug(ZH)}"' in page
    assert "alice" not in page and "bob" not in page
    assert "Class overview" not in page
    assert render_target_page(run, ZH) == page


def test_overview_counts_and_histogram(run):
    html = render_report(run)
    assert "Class overview" in html and "<svg" in html
    buckets, ungradable = histogram(run)
    # alice 86.7 %, 张三 6/16.5 = 36.4 %, bob 4.5/10.5 = 42.9 %
    assert buckets == [0, 0, 0, 1, 1, 0, 0, 0, 1, 0] and ungradable == 0
    summary = {s.lab: s for s in lab_summaries(run)}
    assert summary["kvm-install"].targets == 3
    assert summary["kvm-install"].incomplete == 1
    assert summary["kvm-install"].solution_failures == 1
    assert summary["docker-basics"].avg_percent == pytest.approx((60 + 40) / 2)


def test_slugs_are_safe_and_distinct():
    names = ["alice", "Alice", ZH, "李四", "../../etc/passwd", "a b/c\\d:e", "CON", "x" * 300, "Ünïcödé"]
    slugs = [target_slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,60}", s), s
    assert target_slug("Ünïcödé").startswith("unicode-")
    assert target_slug(ZH) == target_slug(ZH)


def test_empty_run_renders(tmp_path):
    run = RunResult("empty", "validate", "container", "2026-01-01T00:00:00Z")
    paths = write_reports(run, tmp_path / "new" / "dir")
    assert "No targets in this run" in paths.html.read_text(encoding="utf-8")
    assert read_csv(paths.csv) == [["target", "total", "max", "percent", "ungraded", "skipped", "complete"]]
    assert "(no targets)" in score_table(run)


# ---------------------------------------------------------------- score table


def test_score_table_rows_and_markers(run):
    text = score_table(run)
    lines = text.splitlines()
    header = lines[0].split()
    assert header == ["Target", "docker-basics", "kvm-install", "Total", "%"]
    body = lines[2:5]
    # by score descending: alice 13, 张三 6, bob 4.5
    assert [ln.split()[0] for ln in body] == ["alice", ZH, "bob"]
    assert body[0].split() == ["alice", "3/5", "10/10", "13/15", "86%"]
    assert body[1].split() == [ZH, "2/5", "4/11.5!", "6/16.5!", "36%"]
    assert body[2].split() == ["bob", "-", "4.5/10.5", "4.5/10.5", "42%"]
    assert "!" not in body[0] and "!" not in body[2]
    # columns line up (ASCII rows: same length; the "/" of each column at the same offset)
    assert len(body[0]) == len(body[2])
    assert body[0].index("13/15") + 5 == body[2].rindex("4.5/10.5") + 8  # Total column, right-aligned
    assert body[0].index("10/10") + 5 == body[2].index("4.5/10.5") + 8  # kvm-install column
    # the "!" sits after the digits (+ len(ZH): each CJK character takes two columns on screen)
    assert body[1].index("4/11.5!") + len(ZH) + 6 == body[0].index("10/10") + 5
    # the CJK name takes two columns per character: the row is as wide on screen as the others
    assert len(body[1]) + len(ZH) == len(body[0])
    assert any(ln.startswith("validate [bob]: lab kvm-install, step virsh net-start default broke:") for ln in lines)
    assert any(ln.startswith("Legend:") for ln in lines)
    assert all(len(ln) <= 80 for ln in lines if not ln.startswith("validate"))


def test_score_table_ties_by_name_and_narrow():
    run = RunResult("r", "grade", "static", "t")
    long_labs = ["kvm-live-migration-over-nfs", "docker-private-registry-insecure", "docker-compose-wordpress",
                 "kvm-snapshots-and-clones"]
    for name in ["zed", "amy", "a-very-long-student-name-from-the-inventory"]:
        for lab in long_labs:
            run.add(check(name, lab, "test_a", 10, Outcome.PASS))
    lines = score_table(run).splitlines()
    assert [ln.split()[0] for ln in lines[2:5]][1:] == ["amy", "zed"]
    assert all(len(ln) <= 80 for ln in lines), "\n".join(lines)
    assert lines[2].split()[1:] == ["10/10"] * 4 + ["40/40", "100%"]
    assert any(ln.startswith("Labs: ") for ln in lines)  # cut headers are spelled out
    assert "~" in lines[0]
