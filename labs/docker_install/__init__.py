"""Docker installation lab (catalog DK02-DK05, A01, C01, C04; B01 and C03 are facts of the machine, not graded): the daemon, daemon.json, sysctl, storage."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's values (docker.md DK02-DK05 and Appendix E; others.md A01, B12, C01)."""

    # DK03 (the catalog's reading; A01, B12 and C06 name other mirrors): comma-separated
    registry_mirrors: str = "https://reg-mirror.qiniu.com"
    sysctl_file: str = "/etc/sysctl.conf"
    daemon_json: str = "/etc/docker/daemon.json"
    data_root: str = "/var/lib/docker"
    storage_driver: str = "overlay2"
    nginx_port: int = 80  # DK05 / C01: docker run -d -p 80:80 nginx
    page: str = "docker nginx test"  # C01: echo 'docker nginx test' > index.html


from labs.docker_install.solution import solution  # noqa: E402

LAB = Lab(
    name="docker_install",
    title="Install Docker: daemon up, sysctl forwarding, daemon.json mirror, storage driver, the first containers",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('hello-world:latest', 'nginx:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
