"""Limits lab (catalog B05 -c/-m, B06, C02, C09, C23, C31, C32): memory and CPU limits with their exact
byte values, OOM behaviour and scores, namespaces through /proc/PID/ns and nsenter, cgroup v1 files,
the container's overlay2 layer."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and numbers (others.md B05, B06, C02, C09, C23, C31, C32 and section 6.9)."""

    # C09: --cpuset-cpus="0-3" --cpu-shares=512 --memory=500m (524288000 bytes). The notes' 0-3
    # needs 4 CPUs; empty = 0-(min(4, CPUs)-1), the catalog's parametrisation.
    cpuset_cpus: str = ""
    cpu_shares: int = 512
    memory: str = "500m"
    memory_bytes: int = 524288000
    # B05: -c 512 -m 64m (67108864); C09's brief example -m 200m (209715200);
    # C09.7: --memory-reservation 300m under -m 500m (314572800)
    b05_memory_bytes: int = 67108864
    m200_bytes: int = 209715200
    reservation_bytes: int = 314572800
    # C31: --oom-score-adj 500
    oom_score_adj: int = 500
    # C32: lorel/docker-stress-ng --vm 2 --vm-bytes 256m, without a limit (test1) and, the
    # catalog's extension, with -m 256m (test2, 268435456 bytes)
    stress_image: str = "lorel/docker-stress-ng"
    vm_bytes: str = "256m"
    stress_limit_bytes: int = 268435456
    # C23: a file created in the container (md5 of an empty file)
    c23_file: str = "/gjhpwd.txt"
    # C02: echo 'hello world test!' > /opt/test1 in nginx-1
    c02_text: str = "hello world test!"


from labs.limits.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="limits",
    title="Limits and isolation: memory/CPU limits (bytes), OOM, namespaces and nsenter, cgroup v1, overlay2 layers",
    topology=(HostSpec("docker01", Role.DOCKER_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
    images=('nginx:latest', 'nginx:alpine', 'centos:latest', 'lorel/docker-stress-ng:latest'),  # the course's images, served by stand-ins (images/standins/map.txt)
)
