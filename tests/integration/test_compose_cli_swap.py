"""The compose lab typed with Compose v2 (`docker compose`) instead of v1 still reaches full marks.

By default both courses' parts (DK35-DK37 and C21) type `docker-compose` (Compose v1 here), as the
notes do. Typing them with `docker compose` proves every part and every check with v2 as well:
DK36 then writes the converted (services:) file that v2 needs, C21 builds `composetest-web`
instead of `composetest_web`, containers are named `x-web-1` instead of `x_web_1`, and the checks
find everything by compose labels and images.
"""

import json

import pytest

from harness.core.runs import new_run_id


@pytest.mark.slow
def test_compose_lab_full_marks_with_compose_v2(tmp_path, child_pytest):
    run_id = f"cs-{new_run_id()}"
    child = child_pytest("labs/compose", f"--report-dir={tmp_path}", f"--run-id={run_id}",
                         "--lab-param", "compose.compose_dk=docker compose",
                         "--lab-param", "compose.compose_c=docker compose")
    grades = json.loads((tmp_path / run_id / "grades.json").read_text())
    lab = grades["targets"]["validate"]["labs"]["compose"]
    assert lab["score"] == lab["max_score"] > 0, child.stdout[-3000:]
    assert child.returncode == 0, child.stdout[-3000:]
