"""The reference solution of validate mode: the notes' own lines (replay.py), typed on docker01.

The replay is what a student types (seed 000 DK13-DK18, seed 004 DK19, seed 001 A10) with only the
adaptations this machine forces (README.md); validate mode performs exactly that, so the checks
are proven against the course's own state, not against names of ours. The typical mistakes live
in the replay (``REPLAY.mistakes``) and are graded by tests/integration/test_replays.py.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions

solution = Solution()


@solution.step("The notes' lines, DK13-DK18, DK19 (my-imge) and A10 (replay.py)")
def notes(env: LabEnv) -> None:
    from labs.dockerfile.replay import REPLAY

    run_actions(env, REPLAY.actions)


