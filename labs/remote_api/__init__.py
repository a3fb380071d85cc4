"""Remote API lab (catalog DK34): dockerd listening on TCP 2375 on docker01's own address, the Engine
REST API (info, images, containers, create, delete) and the docker CLI used from another host."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's values (docker.md DK34 and Appendix E: remote_api tcp://0.0.0.0:2375)."""

    listen: str = "tcp://0.0.0.0:2375"
    port: int = 2375
    # the dockerd arguments of the host containers (their ExecStart); see README.md
    dockerd_args_file: str = "/run/labharness-dockerd.args"
    remote_image: str = "training/webapp"  # docker -H 10.0.1.70:2375 run -d -P training/webapp python app.py
    create_image: str = "centos"  # curl -X POST .../containers/create -d '{"image":"centos"}'


from labs.remote_api.solution import solution  # noqa: E402

LAB = Lab(
    name="remote_api",
    title="Docker Remote API: dockerd on tcp://0.0.0.0:2375, the REST API, the CLI from another host",
    topology=(HostSpec("docker01", Role.DOCKER_HOST), HostSpec("client01", Role.DOCKER_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('training/webapp:latest', 'centos:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
