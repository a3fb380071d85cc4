"""Volumes lab (catalog DK26, DK27; B07, B08; C11, C24, C25): bind mounts (rw, :ro), anonymous and
named volumes, --volumes-from, backup and restore of a volume with tar."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and paths (docker.md DK26-DK27, Appendix E; others.md B08, C11, C24, C25)."""

    # DK26: cc_web (rw bind), web (:ro bind), web02 (anonymous volume), all training/webapp
    bind_source: str = "/chaoge_web"
    bind_target: str = "/webapp"
    # DK27 / B08: dbdata with a /dbdata volume, db1 and db2 --volumes-from dbdata (training/postgres)
    data_path: str = "/dbdata"
    # B08: dbdata's volume tarred to ./backup.tar (root's home), restored into dbdata2's empty volume
    # C11: docker volume create my-vol; nginx on /opt/my-vol, nginx2 on /opt/hh (nginx:alpine)
    volume: str = "my-vol"
    # C24 -> C25: /data/web served read-only by nginx-web (removed at the end) to web1..web3
    web_dir: str = "/data/web"
    web_page: str = "docker test!"
    server: str = "nginx-web"
    clients_on: str = "8082,8083,8084"

    @property
    def client_ports(self) -> list[int]:
        return [int(p) for p in self.clients_on.split(",") if p.strip()]


from labs.volumes.solution import solution  # noqa: E402

LAB = Lab(
    name="volumes",
    title="Volumes: bind mounts rw and :ro, anonymous and named volumes, --volumes-from, backup and restore",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('training/webapp:latest', 'training/postgres:latest', 'ubuntu:latest', 'busybox:latest', 'nginx:latest', 'nginx:alpine'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
