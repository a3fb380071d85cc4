"""Dockerfile lab (catalog DK13-DK19, A10, C04, C16): build images from Dockerfiles, know what each
instruction does, and the other route to a custom image: docker commit."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (catalog docker.md DK13-DK19, Appendix E; others.md A10, C04, C16)."""

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
    # DK17: docker run --name web01 -d -p 80:80 nginx; edit the page; docker commit -> nginx01 on 81
    web01: str = "web01"
    web01_port: int = 8080  # the notes use 80, which DK13's dk13-web holds in this lab
    web01_page: str = "<h1>welcome~everyone</h1>"
    commit_image: str = "nginx01"
    commit_author: str = "chaoge <yc_uuu@163.com>"
    commit_message: str = "修改首页欢迎页面"
    nginx01_port: int = 81
    # DK18: docker build -t 'chaoge01/my_flask' .; docker run --name flask01 -d -p 85:8080
    flask_image: str = "chaoge01/my_flask"
    flask_container: str = "flask01"
    flask_port: int = 85
    flask_page: str = "hello docker,i am chaoge."
    # DK19 (seed 004): a lowercase `dockerfile` in docker2/ -> my-imge
    s4_dir: str = "/root/docker2"
    s4_image: str = "my-imge"
    # A10: mycentos:v1 (MAINTAINER, ENV MYPATH, WORKDIR $MYPATH, EXPOSE 80, three CMDs)
    a10_image: str = "mycentos:v1"
    # C16 (instruction formats) and C04 (layering example): images named by the harness
    c16_image: str = "c16"
    c04_image: str = "c04-layers"


from labs.dockerfile.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="dockerfile",
    title="Dockerfile: build, run, CMD vs ENTRYPOINT, COPY/ADD, ENV/ARG/VOLUME/EXPOSE/WORKDIR/USER; commit; the flask app",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
    images=('nginx:latest', 'centos:7', 'centos:latest', 'centos:7.6.1810', 'busybox:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
