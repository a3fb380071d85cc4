"""Grade mode against real hosts prepared with the catalog's typical mistakes.

For each lab: provision its hosts with the container provisioner, perform the reference
solution, apply every typical mistake the lab declares, then grade that target through an
inventory (as a trainer would) next to a target whose host does not exist. The mistakes
must FAIL exactly their checks and nothing else; the missing host must be ERROR everywhere,
never FAIL.
"""

import json

import pytest
import yaml

from harness import catalog
from harness.lab import LabEnv
from harness.provisioners.container import ContainerProvisioner
from harness.runs import RunLock, new_run_id

LABS = [lab for lab in catalog.all_labs().values() if lab.mistakes]


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_mistakes_fail_exactly_their_checks(lab, tmp_path, child_pytest):
    run_id = f"gt-{new_run_id()}"
    lock = RunLock(run_id)
    lock.acquire()
    prov = ContainerProvisioner(run_id=run_id)
    try:
        hosts = prov.create(lab, "student")
        env = LabEnv(lab=lab, target="student", run_id=run_id, hosts=hosts, params=lab.make_params({}))
        failure = lab.solution.perform(env)
        assert failure is None, f"the reference solution broke: {failure}"
        for mistake in lab.mistakes:
            mistake.apply(env)
        inventory = {
            "version": 1,
            "targets": [
                {"name": "student", "hosts": {h: {"container": prov.container_name(lab, "student", h)}
                                              for h in lab.host_names}},
                {"name": "ghost", "hosts": {h: {"container": f"lh-{run_id}-does-not-exist-{h}"} for h in lab.host_names}},
            ],
        }
        inv = tmp_path / "class.yaml"
        inv.write_text(yaml.safe_dump(inventory))
        child = child_pytest(str(lab.package_dir), f"--inventory={inv}", f"--report-dir={tmp_path}", f"--run-id={run_id}-g")
        grades = json.loads((tmp_path / f"{run_id}-g" / "grades.json").read_text())
    finally:
        prov.destroy(lab, "student")
        lock.release()

    checks = grades["targets"]["student"]["labs"][lab.name]["checks"]
    expected_fails = set().union(*(m.fails for m in lab.mistakes))
    outcomes = {c["check"]: c["outcome"] for c in checks}
    assert {k for k, v in outcomes.items() if v == "FAIL"} == expected_fails, child.stdout[-3000:]
    # a check may be SKIP only for a capability absent here (@pytest.mark.requires: "needs <cap>: ...")
    skipped = {c["check"] for c in checks if c["outcome"] == "SKIP" and c["message"].startswith("needs ")}
    assert {k for k, v in outcomes.items() if v != "FAIL"} == {k for k, v in outcomes.items() if v == "PASS"} | skipped, outcomes
    student = grades["targets"]["student"]
    lost = sum(c["points"] for c in checks if c["check"] in expected_fails)
    assert student["score"] == pytest.approx(student["max_score"] - lost - student["skipped"])
    assert student["complete"] is True
    for c in checks:
        if c["outcome"] == "FAIL":
            assert c["hint"]["zh"] and c["hint"]["en"] and c["message"], c

    ghost = grades["targets"]["ghost"]["labs"][lab.name]
    assert {c["outcome"] for c in ghost["checks"] if c["check"] not in skipped} == {"ERROR"}, ghost
    assert ghost["score"] == 0 and ghost["ungraded"] > 0 and ghost["max_score"] == ghost["ungraded"] + ghost["skipped"]
    assert "does not exist" in next(c for c in ghost["checks"] if c["outcome"] == "ERROR")["message"]
    assert child.returncode == 1, child.stdout[-2000:]  # FAILs and ERRORs make pytest exit 1
