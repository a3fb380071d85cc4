"""Containers lab (catalog DK05, DK10, DK11, DK20, DK22; A09; B03, B05, B09; C08, C12): run, ps, exec,
logs, stop/start, rm, -p and -P, top/stats, cp, commit, exit codes 126/127, PID 1."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (docker.md DK05-DK22, others.md A09, B03, B05, B09, C08, C12)."""

    # DK20/DK22: docker run --rm --name my_nginx02 -d -p 80:80 nginx
    web: str = "my_nginx02"
    web_port: int = 80
    # DK10: docker run 9aec5c5fe4ba (= centos:7.2.1511, bash without a tty exits 0)
    exit_image: str = "centos:7.2.1511"
    # DK20: docker run ubuntu /bin/echo 'Hello world'
    echo_image: str = "ubuntu"
    # DK11 (harness name lc): create -it, start, pause, unpause, restart, kill
    lifecycle: str = "lc"
    lifecycle_image: str = "centos:7"
    # C08: test_echo / test_ping on nginx:alpine; ping www.baidu.com needs the Internet
    alpine_image: str = "nginx:alpine"
    ping_target: str = "127.0.0.1"
    # C08/C12: docker run --name nginx -d -p 8080:80 nginx:alpine, then cp, logs, exec
    c12: str = "nginx"
    c12_port: int = 8080
    cp_file: str = "/tmp/test.txt"
    cp_content: str = "123"
    cp_back_dir: str = "/root"  # `docker cp nginx:/tmp/test.txt ./` from root's home
    # B09: docker run -d --name b09p -P nginx:alpine (catalog harness name)
    publish_all: str = "b09p"
    # B05 exit codes (catalog harness names; the notes use --rm, which leaves nothing to grade)
    exit126: str = "b05e126"
    exit127: str = "b05e127"
    # A09: docker run -ti --name nginx -d nginx; commit -a "cool" -m "this is test " -> nginx:1.0
    # (the container is renamed: `nginx` is C08/C12's container in this lab)
    a09_container: str = "nginx-a09"
    a09_image: str = "nginx:1.0"
    a09_author: str = "cool"
    a09_message: str = "this is test "
    a09_marker: str = "committed"
    # B03: docker run -it ubuntu:14.04 /bin/bash; touch test; commit -m "Add a test file" -a "AZ" -> test:0.1
    b03_container: str = "b03"
    b03_image: str = "test:0.1"


from labs.containers.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="containers",
    title="Containers: run -d, ps, exec, logs, stop/start/kill, rm, -p/-P, top/stats, cp, commit, exit codes, PID 1",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
    images=('nginx:latest', 'nginx:alpine', 'centos:7', 'centos:7.2.1511', 'ubuntu:latest', 'ubuntu:14.04', 'busybox:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
