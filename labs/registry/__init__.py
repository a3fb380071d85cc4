"""Private registry lab (catalog DK24, DK25, B04, C06): run a registry, insecure-registries, push,
the catalog API, pull it back."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's values (docker.md DK24 and Appendix E; others.md B04, C06)."""

    container: str = "cc_registry"
    image: str = "registry"  # `registry` = registry:latest (the stand-in: Debian's docker-registry 2.8)
    port: int = 5000
    host_dir: str = "/opt/data/registry"
    # DK24: 10.0.1.70:5000 = docker01's own address. Empty = docker01's address on the lab network.
    registry: str = ""
    mirrors: str = "https://reg-mirror.qiniu.com"  # DK24's daemon.json keeps DK03's mirror
    daemon_json: str = "/etc/docker/daemon.json"
    source_image: str = "hello-world"
    repo: str = "cc-hello-world"
    # C06: docker tag nginx:alpine localhost:5000/nginx:alpine (and HOST_IP:5000/nginx:alpine)
    c06_image: str = "nginx:alpine"


from labs.registry.solution import solution  # noqa: E402

LAB = Lab(
    name="registry",
    title="Private registry: run it, insecure-registries, push, the catalog API, pull it back",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('registry:latest', 'registry:2', 'hello-world:latest', 'nginx:alpine'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
