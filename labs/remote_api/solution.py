"""The reference solution of validate mode: the notes' own lines (replay.py), typed on docker01 and
client01 with only the adaptations this machine forces (README.md). The typical mistakes live in
the replay (``REPLAY.mistakes``), graded by tests/integration/test_replays.py."""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions

solution = Solution()


@solution.step("DK34: the notes' lines (replay.py): -H tcp://0.0.0.0:2375, restart, the remote client, the API")
def notes(env: LabEnv) -> None:
    from labs.remote_api.replay import REPLAY

    run_actions(env, REPLAY.actions)


