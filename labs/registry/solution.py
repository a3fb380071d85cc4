"""The reference solution of validate mode: the notes' own lines (replay.py: DK24, then C06's pushes),
typed on docker01 with only the adaptations this machine forces (README.md). The typical mistakes
live in the replay (``REPLAY.mistakes``), graded by tests/integration/test_replays.py."""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions

solution = Solution()


@solution.step("DK24 and C06: the notes' lines (replay.py)")
def notes(env: LabEnv) -> None:
    from labs.registry.replay import REPLAY

    run_actions(env, REPLAY.actions)


