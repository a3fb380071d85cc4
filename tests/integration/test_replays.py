"""Every lab graded against a student who typed the notes: the course replays.

For each lab with a replay (``labs/<lab>/replay.py``): make its hosts as a student's (the
container provisioner), grade them through an inventory as a trainer would, in each replay
state, and assert every check's outcome against the table in the lab's README:

- *fresh*: nothing done; every check FAILs but the declared fresh-install ones;
- *complete*: the notes' lines; full marks (SKIP only for a capability this machine lacks);
- each typical mistake alone (typed after the complete replay, then undone), and all of them;
- *unreachable*: a host that does not exist; every check ERROR, never FAIL.
"""

import json

import pytest
import yaml

from harness.core import catalog
from harness.core import replay
from harness.core.lab import LabEnv
from harness.provisioners.container import ContainerProvisioner
from harness.core.runs import RunLock, new_run_id

LABS = [lab for lab in catalog.all_labs().values() if replay.load(lab.name) is not None]


def _grade(child_pytest, lab, tmp_path, run_id, state, targets):
    tag = f"s{len(list(tmp_path.glob('state-*.yaml')))}"  # a valid run id whatever the state's name
    inv = tmp_path / f"state-{tag}.yaml"
    inv.write_text(yaml.safe_dump({"version": 1, "targets": targets}))
    child = child_pytest(str(lab.package_dir), f"--inventory={inv}", f"--report-dir={tmp_path}", f"--run-id={run_id}-{tag}")
    path = tmp_path / f"{run_id}-{tag}" / "grades.json"
    assert path.exists(), f"{state} ({inv.name}): no report\n{child.stdout[-3000:]}\n{child.stderr[-2000:]}"
    return json.loads(path.read_text()), child


def _outcomes(grades, target, lab):
    checks = grades["targets"][target]["labs"][lab.name]["checks"]
    return {c["check"]: c for c in checks}


def _matches(got: str, expected: str) -> bool:
    return got in expected.split("/")


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_replay_states(lab, tmp_path, child_pytest):
    rp = replay.load(lab.name)
    checks, requires = replay.checks_of(lab.name)
    expected = replay.expected_outcomes(rp, checks, requires)
    # every check FAILs in some state: one that cannot fail cannot tell a student who did the work
    never_fails = [c for c in checks if not any(expected[s][c].startswith("FAIL") for s in expected)]
    assert not never_fails, f"checks no replay state makes FAIL: {never_fails}"
    for m in rp.mistakes:
        assert m.fails <= set(checks), f"mistake {m.name} names unknown checks: {m.fails - set(checks)}"
    assert set(rp.fresh_passes) <= set(checks), set(rp.fresh_passes) - set(checks)

    run_id = f"rp-{new_run_id()}"
    lock = RunLock(run_id)
    lock.acquire()
    prov = ContainerProvisioner(run_id=run_id)
    wrong: list[str] = []
    try:
        hosts = prov.create(lab, "student")
        env = LabEnv(lab=lab, target="student", run_id=run_id, hosts=hosts, params=lab.make_params({}))
        student = [{"name": "student", "hosts": {h: {"container": prov.container_name(lab, "student", h)}
                                                 for h in lab.host_names}}]
        ghost = [{"name": "ghost", "hosts": {h: {"container": f"lh-{run_id}-does-not-exist-{h}"} for h in lab.host_names}}]

        def judge(state, got):
            assert set(got) == set(checks), f"{state}: graded {sorted(got)} instead of {checks}"
            for c in checks:
                if not _matches(got[c]["outcome"], expected[state][c]):
                    wrong.append(f"{state}: {c} {got[c]['outcome']} (expected {expected[state][c]}): {got[c]['message'][:300]}")
            for c in got.values():
                if c["outcome"] == "FAIL":
                    assert c["hint"]["zh"] and c["hint"]["en"] and c["message"], c
                    assert "CommandResult(" not in c["message"], f"pytest introspection in a student's message: {c['message']}"

        def grade(state, targets=student):
            grades, child = _grade(child_pytest, lab, tmp_path, run_id, state, targets)
            judge(state, _outcomes(grades, "student", lab))
            return grades, child

        # fresh and unreachable in one class: a student who did nothing beside one whose host is gone
        grades, _ = _grade(child_pytest, lab, tmp_path, run_id, replay.FRESH, student + ghost)
        judge(replay.FRESH, _outcomes(grades, "student", lab))
        judge(replay.UNREACHABLE, _outcomes(grades, "ghost", lab))
        rp.perform(env)
        grade(replay.COMPLETE)  # an ERROR there shows in `wrong` with its message
        for m in rp.mistakes:
            replay.run_actions(env, m.lines)
            grade(m.name)
            replay.run_actions(env, m.undo)
        if len(rp.mistakes) > 1:
            for m in rp.mistakes:
                replay.run_actions(env, m.lines)
            grades, child = grade(replay.ALL_MISTAKES)
            assert child.returncode == 1, child.stdout[-2000:]
    finally:
        prov.destroy(lab, "student")
        lock.release()
    assert not wrong, "\n".join(wrong)


def test_readme_tables_are_the_replays():
    """What a lab's README shows as expected outcomes is what the replay test asserts."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "replay_table.py"
    res = subprocess.run([sys.executable, str(script), "--check", *[lab.name for lab in LABS]],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
