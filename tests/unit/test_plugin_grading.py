"""The plugin's grading model on a tiny lab graded on this machine (no daemons):
outcome classification, points, hints, parametrization per target, bad input."""

import json
import textwrap

import pytest

pytest_plugins = ["pytester"]

LAB_INIT = """
from dataclasses import dataclass
from pathlib import Path
from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab

@dataclass(frozen=True)
class Params:
    marker: str = "/etc/hostname"

LAB = Lab(name="toylab", title="toy", topology=(HostSpec("box", Role.DOCKER_HOST),), params=Params,
          package_dir=Path(__file__).parent)
"""

CHECKS = """
import pytest

@pytest.fixture
def box(hosts):
    return hosts["box"]

@pytest.mark.points(2)
@pytest.mark.hint(zh="中文提示", en="english hint")
def test_passes(box, params):
    \"\"\"A file that exists.\"\"\"
    assert box.file(params.marker).exists

@pytest.mark.points(3)
@pytest.mark.hint(zh="创建文件", en="create the file")
def test_student_wrong(box):
    \"\"\"A file the student never made.\"\"\"
    assert box.file("/nonexistent/student/file").exists, "the file is missing"

@pytest.mark.points(5)
@pytest.mark.hint(zh="环境", en="environment")
def test_environment_broken(box):
    box.check("exit 3")

@pytest.mark.points(7)
@pytest.mark.hint(zh="跳过", en="skipped")
@pytest.mark.requires("nfs")
def test_needs_nfs(box):
    assert True
"""


@pytest.fixture
def toylab(pytester, monkeypatch):
    # run locks of its own: the fixed run ids (unit-1, unit-2) must not collide with another test run on this machine
    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(pytester.path / "locks"))
    pkg = pytester.mkpydir("toylab")
    (pkg / "__init__.py").write_text(textwrap.dedent(LAB_INIT))
    (pkg / "test_toy.py").write_text(textwrap.dedent(CHECKS))
    inv = pytester.path / "class.yaml"
    inv.write_text("version: 1\ntargets:\n  - name: alice\n    hosts: {box: {local: true}}\n"
                   "  - name: 学生二\n    hosts: {box: {local: true}}\n")
    return pytester


def _grades(pytester, run_id):
    return json.loads((pytester.path / "reports" / run_id / "grades.json").read_text())


def test_outcomes_points_and_hints(toylab):
    res = toylab.runpytest_subprocess("toylab", "--inventory=class.yaml", "--run-id=unit-1", "--report-dir=reports")
    res.assert_outcomes(passed=2, failed=2, errors=2, skipped=2)
    grades = _grades(toylab, "unit-1")
    assert grades["mode"] == "grade" and grades["provisioner"] == "static"
    assert set(grades["targets"]) == {"alice", "学生二"}
    lab = grades["targets"]["alice"]["labs"]["toylab"]
    outcome = {c["check"]: c for c in lab["checks"]}
    assert outcome["test_passes"]["outcome"] == "PASS"
    assert outcome["test_student_wrong"]["outcome"] == "FAIL"
    assert "the file is missing" in outcome["test_student_wrong"]["message"]
    assert outcome["test_student_wrong"]["hint"] == {"zh": "创建文件", "en": "create the file"}
    assert outcome["test_environment_broken"]["outcome"] == "ERROR"
    assert "CommandFailed" in outcome["test_environment_broken"]["message"]
    assert outcome["test_needs_nfs"]["outcome"] in ("SKIP", "PASS")  # PASS only where the kernel has NFS
    # ERROR and SKIP points are not lost: shown apart, and the max stays the lab's full points
    assert lab["score"] == 2
    assert lab["max_score"] == sum(c["points"] for c in lab["checks"]) and lab["ungraded"] == 5
    # the command the check ran is attached as evidence
    assert any("/nonexistent/student/file" in e["text"] for e in outcome["test_student_wrong"]["evidence"])
    assert "ERROR" in res.stdout.str() and "lab scores" in res.stdout.str()


def test_checks_are_parametrized_per_target(toylab):
    res = toylab.runpytest_subprocess("toylab", "--inventory=class.yaml", "--collect-only", "-q")
    out = res.stdout.str()
    assert "test_passes[alice]" in out and "test_passes[\\u5b66\\u751f\\u4e8c]" in out or "test_passes[学生二]" in out


def test_check_without_points_is_refused(toylab):
    (toylab.path / "toylab" / "test_bad.py").write_text("def test_no_points(hosts):\n    assert True\n")
    res = toylab.runpytest_subprocess("toylab", "--inventory=class.yaml")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "needs @pytest.mark.points" in res.stderr.str()


@pytest.mark.parametrize("inventory, message", [
    ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {port: 22}}\n", "class.yaml:4: targets[0].hosts.box: needs 'address'"),
    ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {local: true}}\n  - name: a\n    hosts: {box: {local: true}}\n",
     "duplicate target 'a'"),
    ("version: 1\ntargets:\n  - name: a\n    labs: [nosuch]\n    hosts: {box: {local: true}}\n", "unknown lab 'nosuch'"),
    ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {address: h, port: twenty}}\n", "port: expected a number"),
    ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {address: h, key_file: /nonexistent/key}}\n", "cannot read /nonexistent/key"),
    ("version: 2\ntargets: []\n", "version: expected 1"),
    ("targets: [\n", "not valid YAML"),
])
def test_bad_inventory_one_clear_message(tmp_path, inventory, message):
    from harness.hosts.inventory import InventoryError, load_inventory

    path = tmp_path / "class.yaml"
    path.write_text(inventory)
    with pytest.raises(InventoryError) as err:
        load_inventory(path, known_labs=["dockerfile", "disk_images"])
    assert message in str(err.value).replace(str(tmp_path) + "/", "")
    assert "\n" not in str(err.value)


BAD_INVENTORIES = {
    "missing field": ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {port: 22}}\n",
                      "class.yaml:4: targets[0].hosts.box: needs 'address'"),
    "wrong type": ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {address: h, timeout: soon}}\n",
                   "class.yaml:4: targets[0].hosts.box.timeout: expected a number of seconds > 0, got 'soon'"),
    "unknown lab": ("version: 1\ntargets:\n  - name: a\n    labs: [nosuch]\n    hosts: {box: {local: true}}\n",
                    "class.yaml:4: targets[0].labs: unknown lab 'nosuch'"),
    "duplicate student": ("version: 1\ntargets:\n  - name: a\n    hosts: {box: {local: true}}\n"
                          "  - name: a\n    hosts: {box: {local: true}}\n",
                          "class.yaml:5: targets[1].name: duplicate target 'a' (first at line 3)"),
    "unreadable key": ("version: 1\ndefaults: {key_file: /nonexistent/id_ed25519}\ntargets:\n  - name: a\n"
                       "    hosts: {box: {address: 10.0.0.1}}\n",
                       "class.yaml:2: defaults.key_file: cannot read /nonexistent/id_ed25519"),
}


@pytest.mark.parametrize("case", BAD_INVENTORIES, ids=list(BAD_INVENTORIES))
def test_bad_inventory_stops_plain_pytest_with_one_message(toylab, case):
    text, message = BAD_INVENTORIES[case]
    (toylab.path / "class.yaml").write_text(text)
    for extra in ([], ["-n", "2"]):
        res = toylab.runpytest_subprocess("toylab", "--inventory=class.yaml", *extra)
        err = res.stderr.str()
        assert res.ret == pytest.ExitCode.USAGE_ERROR, res.stdout.str()[-2000:] + err
        assert message in err.replace(str(toylab.path) + "/", ""), err
        assert "Traceback" not in err + res.stdout.str()
        assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err


@pytest.mark.parametrize("case", BAD_INVENTORIES, ids=list(BAD_INVENTORIES))
def test_bad_inventory_stops_labctl_with_one_message(tmp_path, case):
    import subprocess
    import sys

    from tests.conftest import REPO

    text, message = BAD_INVENTORIES[case]
    (tmp_path / "class.yaml").write_text(text.replace("box", "docker01").replace("nosuch", "nosuch"))
    res = subprocess.run([sys.executable, "-m", "harness.cli", "grade", "--inventory", str(tmp_path / "class.yaml")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr
    assert res.stderr.startswith("labctl: ") and "Traceback" not in res.stderr
    assert message.replace("box", "docker01") in res.stderr.replace(str(tmp_path) + "/", "")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_progress_and_one_worker_per_student(toylab):
    res = toylab.runpytest_subprocess("toylab", "--inventory=class.yaml", "--run-id=unit-2", "-n", "2", "-v")
    out = res.stdout.str()
    assert "grading 2 students, 8 checks" in out
    assert "students] alice: 2/17 (11%), 1 check ERROR, re-run needed: running the check" not in out  # phase cut
    assert "students] alice: 2/17 (11%), 1 check ERROR, re-run needed: box: `exit 3` exited 3" in out
    assert "[2/2 students]" in out
    # xdist: every check of one student on one worker (the student's hosts and connections stay there)
    workers: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("[gw") and "toylab/test_toy.py::" in line:
            gw = line.split("]")[0][1:]
            student = "alice" if "[alice]" in line else "other"
            workers.setdefault(student, set()).add(gw)
    assert set(workers) == {"alice", "other"} and all(len(w) == 1 for w in workers.values()), workers
    assert "Re-run needed for 2 targets" in out and "lab scores" in out


@pytest.mark.parametrize("nodeid, per_target, group", [
    ("labs/dockerfile/test_dockerfile.py::test_dk13[alice]", True, "[alice]"),
    ("labs/disk_images/test_disk_images.py::test_kvm05[alice]", True, "[alice]"),
    ("labs/dockerfile/test_dockerfile.py::test_dk13[validate]", False, "labs/dockerfile[validate]"),
    ("labs/dockerfile/test_more.py::test_x[validate]", False, "labs/dockerfile[validate]"),
    ("labs/dockerfile/test_dockerfile.py::test_dk13[alice]@alice", True, "alice"),  # xdist's own suffix, if it works
    ("tests/unit/test_reports.py::test_fmt_num", True, "tests/unit/test_reports.py::test_fmt_num"),
])
def test_scheduler_groups_by_target(nodeid, per_target, group):
    from harness.plugin.scheduling import group_of

    assert group_of(nodeid, per_target) == group
