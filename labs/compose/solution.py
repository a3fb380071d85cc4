"""The course's steps for DK35-DK37 and C21, as the harness performs them in validate mode.

The very lines of the course replay (``replay.py``: the notes' own commands and files), typed on
docker01 with the Compose CLIs the parameters name: by default `docker-compose` everywhere, as
both courses type it; `--lab-param compose.compose_dk="docker compose"` runs docker.md's parts
with Compose v2 (DK36 then ships the converted `services:` file, which v2 needs).
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.replay import run_actions
from labs.compose import replay, state

solution = Solution()


def _cli(env: LabEnv, which: str) -> str:
    return state.cli(getattr(env.params, which))


@solution.step("C21: composetest built and run by Compose (up, up -d), then stopped to free port 5000")
def c21(env: LabEnv) -> None:
    run_actions(env, replay.c21(_cli(env, "compose_c")))


@solution.step("DK35: docker-compose version")
def dk35(env: LabEnv) -> None:
    run_actions(env, replay.dk35(_cli(env, "compose_dk")))


@solution.step("DK36: chaoge/python_web built; redis and flask_web by hand; flask_web stopped; docker-compose up -d")
def dk36(env: LabEnv) -> None:
    run_actions(env, replay.dk36(_cli(env, "compose_dk")))


@solution.step("DK37: docker-compose up -d in /chaoge_compose_app/wordpress; the installer answers once MySQL is up")
def dk37(env: LabEnv) -> None:
    run_actions(env, replay.dk37(_cli(env, "compose_dk")))
