"""Networking lab (catalog DK12, DK28-DK33; B12; C27, C28, C30): port mapping (-p, -P, 127.0.0.1),
a --net=none container plumbed by hand with a veth pair, --link, veth pairs and NAT rules of
docker0, host mode, and a custom bridge bridge0 (DK33, on a second host). A06, B09-B11, C10, C13
and C26 leave nothing the notes' lines make gradable here (see README)."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and numbers (docker.md DK12, DK29-DK33, Appendix E; others.md B12, C27, C28, C30)."""

    docker0: str = "172.17.0.1/16"
    # DK29: veth A (host) / B -> eth0 (container), 172.17.42.99/16 via 172.17.42.1 (sic)
    veth_host: str = "A"
    veth_peer: str = "B"
    manual_ip: str = "172.17.42.99/16"
    manual_gateway: str = "172.17.42.1"
    # DK30: training/webapp with -P, then bound to 127.0.0.1:5000
    webapp_port: int = 5000
    # DK33 (on docker02): bridge0 192.168.5.1/24 replaces docker0 ("bridge": "bridge0" in daemon.json)
    custom_bridge: str = "bridge0"
    custom_cidr: str = "192.168.5.1/24"
    daemon_json: str = "/etc/docker/daemon.json"
    # C28: docker run --name test -d -p 8088:80 nginx:alpine
    nat_port: int = 8088

from labs.networking.solution import solution  # noqa: E402

LAB = Lab(
    name="networking",
    title="Networking: -p/-P/127.0.0.1, a veth pair by hand, --link, docker0's veths and NAT rules, host mode, custom bridge0",
    topology=(HostSpec("docker01", Role.DOCKER_HOST), HostSpec("docker02", Role.DOCKER_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('busybox:latest', 'centos:latest', 'nginx:latest', 'nginx:alpine', 'training/webapp:latest', 'training/postgres:latest', 'redis:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
