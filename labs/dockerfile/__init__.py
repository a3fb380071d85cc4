"""Dockerfile lab (catalog DK13-DK19, A10): build images from Dockerfiles, know what each
instruction does, and the other route to a custom image: docker commit."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The notes' names and values (catalog docker.md DK13-DK19, Appendix E; others.md A10)."""

    nginx_port: int = 80  # DK13: docker run -d -p80:80 <image ID>
    page: str = "<meta charset=utf8>超哥带你用docker运行nginx服务."
    myip_image: str = "myip"  # built twice under this tag (CMD, then ENTRYPOINT)
    bind_source: str = "/my_data"  # DK16: docker run -d -v /my_data:/data <image>
    # DK17: docker run --name web01 -d -p 80:80 nginx; edit the page; docker commit -> nginx01 on 81
    web01: str = "web01"
    web01_port: int = 80
    web01_page: str = "<h1>welcome~everyone</h1>"
    commit_image: str = "nginx01"
    commit_author: str = "chaoge <yc_uuu@163.com>"
    commit_message: str = "修改首页欢迎页面"
    nginx01_port: int = 81
    # DK18: docker build -t 'chaoge01/my_flask' .; docker run --name flask01 -d -p 85:8080
    flask_image: str = "chaoge01/my_flask"
    flask_port: int = 85
    flask_page: str = "hello docker,i am chaoge."
    # DK19 (seed 004): a lowercase `dockerfile` in docker2/ -> my-imge
    s4_dir: str = "/root/docker2"
    s4_image: str = "my-imge"
    # A10: mycentos:v1 (MAINTAINER, ENV MYPATH, WORKDIR $MYPATH, EXPOSE 80, three CMDs)
    a10_image: str = "mycentos:v1"


from labs.dockerfile.solution import solution  # noqa: E402

LAB = Lab(
    name="dockerfile",
    title="Dockerfile: build, run, CMD vs ENTRYPOINT, COPY/ADD, ENV/ARG/VOLUME/EXPOSE/WORKDIR/USER; commit; the flask app",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('nginx:latest', 'centos:7', 'centos:latest', 'centos:7.2.1511', 'centos:7.6.1810'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
