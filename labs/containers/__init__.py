"""Containers lab (catalog DK05, DK10, DK20, DK22; A09; B03, B05; C08, C12): run (one-shot, -it, -d,
--rm, -p), PID 1, top/inspect, cp, commit."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md DK05-DK22, others.md A09, B03, B05, B09, C08, C12)."""

    # DK20/DK22: docker run --rm --name my_nginx02 -d -p 80:80 nginx
    web: str = "my_nginx02"
    web_port: int = 80
    # DK20: docker run ubuntu /bin/echo 'Hello world'; docker run -it ubuntu /bin/bash
    echo_image: str = "ubuntu"
    # C12: echo '123'>/tmp/test.txt; docker cp into nginx and back with `docker cp nginx:/tmp/test.txt ./`
    cp_file: str = "/tmp/test.txt"
    cp_content: str = "123"
    cp_back_dir: str = "/root"  # the notes' ./ (root's home)
    # A09: docker commit -a "cool" -m "this is test " CONTAINER nginx:1.0
    a09_image: str = "nginx:1.0"
    a09_author: str = "cool"
    a09_message: str = "this is test "
    # B03: docker run -it ubuntu:14.04 /bin/bash; touch test; commit -m "Add a test file" -a "AZ" -> test:0.1
    b03_image: str = "test:0.1"


from labs.containers.solution import solution  # noqa: E402

LAB = Lab(
    name="containers",
    title="Containers: run (one-shot, -it, -d, --rm, -p), PID 1, top/inspect, cp, commit",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('nginx:latest', 'nginx:alpine', 'centos:latest', 'centos:7.2.1511', 'ubuntu:latest', 'ubuntu:14.04'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
