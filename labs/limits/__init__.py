"""Limits lab (catalog B05, B06, C02, C09, C32; C23 and C31 leave nothing to grade): CPU and memory
limits with their exact byte values and cgroup v1 files, a container without a memory limit under
stress-ng, namespaces through /proc/PID/ns and nsenter, a file in the container's overlay2 layer."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and numbers (others.md B05, B06, C02, C09, C32 and section 6.9)."""

    # C09: --cpuset-cpus="0-3" --cpu-shares=512 --memory=500m nginx:alpine (524288000 bytes). The
    # notes' 0-3 needs 4 CPUs; empty = 0-(min(4, CPUs)-1) of the student's host, the catalog's reading.
    cpuset_cpus: str = ""
    cpu_shares: int = 512
    memory: str = "500m"
    memory_bytes: int = 524288000
    # C32: lorel/docker-stress-ng --vm 2 --vm-bytes 256m, no limit (test1): ~256 MiB held
    stress_image: str = "lorel/docker-stress-ng"
    vm_bytes: str = "256m"
    stress_bytes: int = 268435456
    # C02: echo 'hello world test!' > /opt/test1 in nginx-1
    c02_text: str = "hello world test!"


from labs.limits.solution import solution  # noqa: E402

LAB = Lab(
    name="limits",
    title="Limits and isolation: memory/CPU limits (bytes), cgroup v1, no limit under stress-ng, namespaces and nsenter, the container layer",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    images=('nginx:latest', 'nginx:alpine', 'centos:latest', 'lorel/docker-stress-ng:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
