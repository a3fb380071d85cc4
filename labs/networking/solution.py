"""The course's networking steps, as the harness performs them in validate mode: the notes' own
lines (``replay.py``), so validate mode and the course replay leave the same state.

Interactive runs (`docker run -it ...`) become detached ones with the same flags; `brctl
addif/delbr/addbr` become their `ip link` equivalents (no bridge-utils on the hosts);
`systemctl stop/restart docker` is `labharness-dockerd stop/restart`. The typical mistakes are
the replay's, typed after the solution.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions
from labs.networking.replay import ACTIONS

solution = Solution()


@solution.step("seed 003 C27/C28/C30, seed 000 DK12 and DK28-DK33 (DK33 on docker02), seed 002 B12: the notes' lines")
def notes(env: LabEnv) -> None:
    run_actions(env, ACTIONS)
