"""Compose lab (catalog docker.md DK35-DK37, others.md C19-C22): the Flask + Redis hit counters,
WordPress + MySQL, and the compose-file keys of the course's reference, with Compose v1 and v2."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md Appendix E, others.md C21/C22)."""

    # Compose CLIs: docker.md's course used docker-compose 1.25/1.26 (v1), others.md C19 installs
    # v2; the checks look at containers and labels, so either CLI may run either part.
    compose_dk: str = "docker-compose"  # DK36, DK37
    compose_c: str = "docker compose"  # C21, C22
    # DK36: Flask + Redis, by hand and with compose
    app_dir: str = "/chaoge_compose_app"
    project: str = "chaoge_compose_app"  # compose's project name = the directory's name
    web_image: str = "chaoge/python_web"
    web_port: int = 5000
    manual_web: str = "flask_web"
    manual_redis: str = "redis"
    redis_port: int = 6379
    # DK37: WordPress + MySQL 8.0
    wp_dir: str = "/chaoge_compose_app/wordpress"
    wp_project: str = "wordpress"
    wp_port: int = 8000
    # C21: composetest (built by compose), brought down again to free port 5000 for DK36
    ct_dir: str = "/root/composetest"
    ct_project: str = "composetest"
    # C22: the compose-file keys, one project
    keys_dir: str = "/root/c22keys"
    keys_project: str = "c22keys"


from labs.compose.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="compose",
    title="Docker Compose: Flask + Redis counters, WordPress + MySQL, up/ps/logs/down, compose-file keys (v1 and v2)",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
    images=('python:2.7', 'python:3.7-alpine', 'redis:latest', 'redis:alpine', 'nginx:latest', 'centos:7', 'mysql:8.0', 'wordpress:latest'),  # the course's images, served by stand-ins
)
