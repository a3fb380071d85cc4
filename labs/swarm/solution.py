"""The course's steps for DK39-DK42, as the harness performs them in validate mode.

The very lines of the course replay (``replay.py``: the notes' own commands and stack file),
typed on manager, worker1 and worker2; README.md lists the adaptations.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions
from labs.swarm import replay

solution = Solution()


def _upto(seed: str) -> int:
    """Index just past the action with this seed."""
    return next(i for i, a in enumerate(replay.ACTIONS) if getattr(a, "seed", "") == seed) + 1


DK40 = _upto("000:L4206")
DK42 = _upto("000:L4312")


@solution.step("DK39: docker swarm init on manager; worker1 and worker2 join; docker node ls")
def dk39(env: LabEnv) -> None:
    run_actions(env, replay.ACTIONS[:DK40])


@solution.step("DK40/DK41: docker service create --replicas 3 -p 80:80 --name nginx nginx:1.13.7-alpine; scale 5, 2; rm")
def dk40_41(env: LabEnv) -> None:
    run_actions(env, replay.ACTIONS[DK40:DK42])


@solution.step("DK42: ~/docker-compose.yml; docker stack deploy -c docker-compose.yml wordpress; wait until it converged")
def dk42(env: LabEnv) -> None:
    run_actions(env, replay.ACTIONS[DK42:])
