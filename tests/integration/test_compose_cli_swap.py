"""The compose lab with its two Compose CLIs swapped still reaches full marks.

By default docker.md's parts (DK36, DK37) run with Compose v1 (`docker-compose`) and others.md's
(C21, C22) with v2 (`docker compose`), so a plain validate run proves each CLI on half of the
lab. Swapping them proves every part and every check with both: DK36 then ships the converted
(services:) file that v2 needs, C21 builds `composetest_web` instead of `composetest-web`, and the
checks find everything by compose labels.
"""

import json

import pytest

from harness.runs import new_run_id


@pytest.mark.slow
def test_compose_lab_full_marks_with_swapped_clis(tmp_path, child_pytest):
    run_id = f"cs-{new_run_id()}"
    child = child_pytest("labs/compose", f"--report-dir={tmp_path}", f"--run-id={run_id}",
                         "--lab-param", "compose.compose_dk=docker compose",
                         "--lab-param", "compose.compose_c=docker-compose")
    grades = json.loads((tmp_path / run_id / "grades.json").read_text())
    lab = grades["targets"]["validate"]["labs"]["compose"]
    assert lab["score"] == lab["max_score"] > 0, child.stdout[-3000:]
    assert child.returncode == 0, child.stdout[-3000:]
