"""Swarm lab (catalog docker.md DK39-DK42): a three-node swarm, a replicated nginx service that is
scaled and removed again, and the WordPress stack (WordPress, MySQL, visualizer) on an overlay."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md DK39-DK42, Appendix E)."""

    swarm_port: int = 2377
    service: str = "nginx"  # DK40/DK41: created, scaled to 5 and 2, then removed
    # DK42
    stack: str = "wordpress"
    wordpress_replicas: int = 3
    visualizer_port: int = 8080


from labs.swarm.solution import solution  # noqa: E402

LAB = Lab(
    name="swarm",
    title="Docker Swarm: init/join, a replicated service (create, scale, remove), a WordPress stack on an overlay",
    topology=(HostSpec("manager", Role.DOCKER_HOST), HostSpec("worker1", Role.DOCKER_HOST),
              HostSpec("worker2", Role.DOCKER_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('nginx:1.13.7-alpine', 'wordpress:latest', 'mysql:latest', 'dockersamples/visualizer:stable'),  # the course's images, served by stand-ins
)
