"""Compose lab (catalog docker.md DK35-DK37, others.md C19-C22): the Flask + Redis hit counters
(C21's composetest, DK36's chaoge_compose_app) and WordPress + MySQL (DK37), with Compose v1 and v2.
C19 (install from GitHub), C20 (invalid YAML as printed) and C22 (a reference of keys) leave
nothing of their own on a student's host: see README.md."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md DK35-DK37, others.md C21)."""

    # Compose CLIs: both courses type `docker-compose`; validate mode may run either part with
    # Compose v2 (`docker compose`): the checks look at containers and labels, not at the CLI.
    compose_dk: str = "docker-compose"  # DK35-DK37
    compose_c: str = "docker-compose"  # C21
    # DK36: Flask + Redis, by hand and with compose
    web_image: str = "chaoge/python_web"
    web_port: int = 5000
    manual_web: str = "flask_web"
    manual_redis: str = "redis"
    redis_port: int = 6379
    # DK37: WordPress + MySQL 8.0
    wp_port: int = 8000


from labs.compose.solution import solution  # noqa: E402

LAB = Lab(
    name="compose",
    title="Docker Compose: Flask + Redis counters (by hand and with Compose), WordPress + MySQL (v1 and v2)",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('python:2.7', 'python:3.7-alpine', 'redis:latest', 'redis:alpine', 'mysql:8.0', 'wordpress:latest'),  # the course's images, served by stand-ins
)
