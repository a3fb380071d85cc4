"""Swarm lab (catalog docker.md DK39-DK42): a three-node swarm, a replicated nginx service that is
scaled, updated, rolled back and moved off a drained node, and a WordPress stack on an overlay."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md DK39-DK42, Appendix E); harness additions say so."""

    swarm_port: int = 2377
    service: str = "nginx"
    image: str = "nginx:1.13.7-alpine"
    replicas: int = 3  # DK40: --replicas 3
    published_port: int = 80  # DK40: -p 80:80 (routing mesh)
    scaled_replicas: int = 5  # DK41: docker service scale nginx=5
    # harness additions: a rolling update, its rollback, and a drained node
    update_image: str = "nginx:latest"
    update_parallelism: int = 2
    update_delay: str = "1s"
    drained_node: str = "worker2"
    # DK42
    stack: str = "wordpress"
    stack_dir: str = "/root"  # ~ on manager (/home/docker on boot2docker)
    wordpress_replicas: int = 3
    visualizer_port: int = 8080


from labs.swarm.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="swarm",
    title="Docker Swarm: init/join, a replicated service (scale, rolling update, rollback, drain), stack deploy on an overlay",
    topology=(HostSpec("manager", Role.DOCKER_HOST), HostSpec("worker1", Role.DOCKER_HOST),
              HostSpec("worker2", Role.DOCKER_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
    images=('nginx:1.13.7-alpine', 'nginx:latest', 'wordpress:latest', 'mysql:latest', 'dockersamples/visualizer:stable'),  # the course's images, served by stand-ins
)
