"""Dockerfile lab (catalog DK13-DK16): build images from Dockerfiles and know what each instruction does."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (catalog docker.md DK13-DK16, Appendix E)."""

    build_dir: str = "/my_docker"  # the notes keep their Dockerfiles under /my_docker
    nginx_image: str = "dk13-nginx"
    nginx_container: str = "dk13-web"
    nginx_port: int = 80
    page: str = "<meta charset=utf8>超哥带你用docker运行nginx服务."
    myip_image: str = "myip"
    myip_cmd_tag: str = "myip:cmd"  # the CMD build, kept under its own tag (the catalog's advice)
    ipinfo_network: str = "dk15-net"  # where the ipinfo.io stand-in answers
    instr_image: str = "dk16"
    instr_container: str = "dk16c"
    bind_container: str = "dk16bind"
    bind_source: str = "/my_data"


from labs.dockerfile.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="dockerfile",
    title="Dockerfile: build, run, CMD vs ENTRYPOINT, COPY/ADD, ENV/ARG/VOLUME/EXPOSE/WORKDIR/USER",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
)
