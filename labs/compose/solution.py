"""The course's steps for DK35-DK37 and C21, as the harness performs them in validate mode.

The very lines of the course replay (``replay.py``: the notes' own commands and files), typed on
docker01 with the Compose CLIs the parameters name: by default `docker-compose` everywhere, as
both courses type it; `--lab-param compose.compose_dk="docker compose"` runs docker.md's parts
with Compose v2 (DK36 then ships the converted `services:` file, which v2 needs).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from harness.replay import run_actions
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


# --------------------------------------------------------------------------- typical mistakes


def _project_stopped(env: LabEnv) -> None:
    """`docker-compose up` in the foreground, then Ctrl+C: the project's containers stop."""
    env["docker01"].check(f"cd %s && {_cli(env, 'compose_dk')} stop", replay.APP)


def _wordpress_password_typo(env: LabEnv) -> None:
    h = env["docker01"]
    yml = (env.files / "wordpress" / "docker-compose.yml").read_text()
    old = "WORDPRESS_DB_PASSWORD: wordpress"
    assert old in yml
    h.put_file(f"{replay.WP}/docker-compose.yml", yml.replace(old, "WORDPRESS_DB_PASSWORD: wordpres").encode())
    h.check(f"cd %s && {_cli(env, 'compose_dk')} up -d", replay.WP, timeout=180)


MISTAKES = (
    Mistake("project_stopped", "ran `docker-compose up` in the foreground and pressed Ctrl+C: web and redis stopped",
            _project_stopped, frozenset({"test_dk36_compose_services_up", "test_dk36_counter_increments"})),
    Mistake("wordpress_password_typo", "WORDPRESS_DB_PASSWORD does not match MYSQL_PASSWORD",
            _wordpress_password_typo, frozenset({"test_dk37_wordpress_wiring", "test_dk37_site_installer"})),
)
