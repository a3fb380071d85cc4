"""The HTML report in a real browser: headless Chromium opens report.html and a student's page from
disk (offline), takes screenshots and dumps the DOM it built; the tests check the key elements are
there and that nothing a student's host printed became markup (a payload that would retitle the
page must stay text)."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.core.model import CheckResult, Evidence, Hint, Outcome, RunResult
from harness.reporting import target_slug, write_reports

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")
XSS = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


def chromium(url: str, profile: Path, *, screenshot: Path | None = None, size: tuple[int, int] = (1280, 2000),
             timeout: float = 180) -> str:
    """Open ``url`` in headless Chromium; return the DOM it built (and write a PNG screenshot)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed: scripts/setup.sh installs it (Debian package `chromium`)"
    argv = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"]
    argv += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    res = subprocess.run(argv + [url], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "HOME": str(profile)})
    assert res.returncode == 0, res.stderr[-2000:]
    if screenshot:
        assert screenshot.is_file(), res.stderr[-2000:]
    return res.stdout


def png(path: Path) -> tuple[int, int, bytes]:
    """(width, height, decompressed image data) of a PNG, read by hand (no imaging library here)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(chunk[:4], "big"), int.from_bytes(chunk[4:8], "big")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def assert_real_picture(path: Path, size: tuple[int, int]) -> None:
    width, height, raw = png(path)
    assert (width, height) == size
    assert path.stat().st_size > 20_000, f"{path}: {path.stat().st_size} bytes, an empty page?"
    assert len(set(raw)) > 64, "the screenshot is (nearly) one colour"


def keep_screenshot(path: Path) -> None:
    """With LABHARNESS_SCREENSHOT_DIR set, keep a copy (for people to look at)."""
    where = os.environ.get("LABHARNESS_SCREENSHOT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(where) / path.name)


class Dom(html.parser.HTMLParser):
    """The elements of a dumped DOM: tag, attributes and the text inside, flat."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self.stack: list[int] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))
        if tag not in ("meta", "br", "img", "input", "link", "line", "rect", "hr"):
            self.stack.append(len(self.elements) - 1)

    def handle_endtag(self, tag):
        while self.stack:
            i = self.stack.pop()
            if self.elements[i][0] == tag:
                break

    def handle_data(self, data):
        for i in self.stack:
            self.elements[i][2].append(data)

    def find(self, tag: str, **attrs) -> list[tuple[dict, str]]:
        out = []
        for t, a, text in self.elements:
            if t == tag and all((k == "class_" and v in (a.get("class") or "").split()) or a.get(k) == v
                                for k, v in attrs.items()):
                out.append((a, "".join(text)))
        return out


def class_run() -> RunResult:
    run = RunResult("browser-1", "grade", "static", "2026-01-01T09:00:00+00:00", "2026-01-01T09:03:00+00:00",
                    environment={"steps.dockerfile.s01": "provision 0.3s"})
    P, F, E, S = Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP

    def add(target, lab, check, points, outcome, message="", evidence=()):
        run.add(CheckResult(
            nodeid=f"labs/{lab}/test_{lab}.py::{check}[{target}]", lab=lab, target=target, check=check,
            title=f"{check.replace('_', ' ')} works", points=points, outcome=outcome, message=message,
            hint=Hint(zh=f"提示：检查 {check}", en=f"Hint: check {check}"),
            evidence=[Evidence(n, t) for n, t in evidence], duration=0.1))

    for t in ("alice", "张伟", "bob", "carol", "dave"):
        for lab, checks in (("dockerfile", ("test_dk13_port", "test_dk15_entrypoint")), ("disk_images", ("test_kvm05_resized",))):
            for i, check in enumerate(checks):
                if t == "dave":
                    add(t, lab, check, 2, E, message="setting up the hosts: HostUnreachable: docker01 (root@10.0.9.9): "
                                                     "cannot connect: No route to host")
                elif t == "bob" and i == 0:
                    add(t, lab, check, 2, F, message=f"container is {XSS}",
                        evidence=[("docker01: docker container inspect dk13-web", f"$ docker container inspect\n{XSS}")])
                elif t == "carol" and lab == "disk_images":
                    add(t, lab, check, 2, S, message="needs kvm-accel: guests run under TCG here")
                else:
                    add(t, lab, check, 2, P if t != "张伟" or i else F, message="" if t != "张伟" or i else "no port 80")
    run.add(CheckResult(nodeid="x", lab="dockerfile", target=XSS, check="test_dk13_port", title=XSS, points=1,
                        outcome=F, message=XSS, hint=Hint(zh=XSS, en=XSS)))
    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = class_run()
    paths = write_reports(run, tmp_path_factory.mktemp("reports") / run.run_id)
    return run, paths, tmp_path_factory.mktemp("chromium")


def test_class_report_renders_in_chromium(report):
    run, paths, profile = report
    shot = profile.parent / "class-report.png"
    chromium(paths.html.as_uri(), profile, screenshot=shot, size=(1280, 2000))
    assert_real_picture(shot, (1280, 2000))
    keep_screenshot(shot)

    dom_text = chromium(paths.html.as_uri(), profile)
    dom = Dom(dom_text)
    assert dom.find("title")[0][1] == f"Lab report {run.run_id}"  # the page's own title: no payload ran
    assert not dom.find("img") and not any("pwned" in (a.get("onerror") or "") for _, a, _ in dom.elements)
    assert len(dom.find("script")) == 1  # the report's own, nothing from a host
    assert "Class overview" in [t.strip() for _, t in dom.find("h2")]
    overview = dom_text[dom_text.index('class="overview"'):]
    overview = overview[: overview.index("</table>")]
    rows = Dom(overview).find("tr")
    assert len(rows) == 1 + len(run.targets)  # a header, then one row per student
    for name in run.targets:  # every student's row links to their own page, which exists
        page = f"targets/{target_slug(name)}.html"
        assert page in overview and (paths.dir / page).is_file()
    rerun = dom_text[dom_text.index('id="rerun"'):]
    rerun = rerun[: rerun.index("</table>")]
    assert "dave" in rerun and "No route to host" in rerun and "Needs a re-run: 1 target" in rerun
    bars = dom.find("rect", class_="hbar")
    assert len(bars) == 10  # the score distribution: ten buckets
    labs = dom_text[dom_text.index('class="labs"'):]
    assert "dockerfile" in labs[: labs.index("</table>")] and "disk_images" in labs[: labs.index("</table>")]
    assert "提示：检查 test_dk13_port" in dom_text and "Hint: check test_dk13_port" in dom_text
    assert "&lt;img src=x onerror=" in dom_text  # the payload is shown, as text


def test_student_page_renders_in_chromium(report):
    run, paths, profile = report
    page = paths.targets["bob"]
    shot = profile.parent / "student-bob.png"
    chromium(page.as_uri(), profile, screenshot=shot, size=(1000, 1400))
    assert_real_picture(shot, (1000, 1400))
    keep_screenshot(shot)
    dom_text = chromium(page.as_uri(), profile)
    dom = Dom(dom_text)
    assert dom.find("title")[0][1] == f"bob – lab report {run.run_id}"
    assert "Class overview" not in dom_text and "alice" not in dom_text
    failed = [a for a, _ in dom.find("tr", class_="has-detail") if "o-fail" in a["class"]]
    assert len(failed) == 2  # bob's failed check in each lab, each with its hint and evidence
    assert "提示：检查 test_dk13_port" in dom_text and "Hint: check test_dk13_port" in dom_text
    assert any("Evidence: docker01: docker container inspect dk13-web" in t for _, t in dom.find("summary"))
    assert not dom.find("img") and len(dom.find("script")) == 1
