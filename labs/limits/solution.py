"""The course's limits, namespaces and cgroups steps, as the harness performs them in validate mode.

They follow the notes (and ``replay.py``): interactive runs (`docker run -it`, `docker exec -it ...
bash`) become detached runs and `docker exec CONTAINER sh -c '...'`; C09's container has no name,
as in the notes; C32's stress-ng gets `--vm-hang 0` so it holds its memory without spinning.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution

solution = Solution()


def cpuset(params, docker01) -> str:
    """The notes' 0-3, capped to the CPUs the host has (the catalog: parametrise as 0-(nproc-1))."""
    if params.cpuset_cpus:
        return params.cpuset_cpus
    cpus = int(docker01.check("nproc").strip())
    return f"0-{min(4, cpus) - 1}" if min(4, cpus) > 1 else "0"


@solution.step("B05/B06: docker run --name mydocker -t -i centos /bin/bash (detached); nsenter -t PID -u -i -n -p")
def b06(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run --name mydocker -t -i -d centos /bin/bash")
    pid = h.check("docker inspect --format '{{.State.Pid}}' mydocker").strip()
    h.check("nsenter -t %s -u -i -n -p hostname", pid)


@solution.step("C09: docker run --cpuset-cpus=0-3 --cpu-shares=512 --memory=500m nginx:alpine (detached, no name)")
def c09(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --cpuset-cpus=%s --cpu-shares=%s --memory=%s nginx:alpine", cpuset(p, h), str(p.cpu_shares), p.memory)


@solution.step("C02: docker run -p 80:80 --name nginx-1 nginx:latest (detached); echo 'hello world test!' > /opt/test1 inside")
def c02(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d -p 80:80 --name nginx-1 nginx:latest")
    h.check("docker exec nginx-1 sh -c %s", f"echo '{p.c02_text}' > /opt/test1")


@solution.step("C32: docker run --rm --name test1 lorel/docker-stress-ng --vm 2 --vm-bytes 256m (detached)")
def c32(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --rm --name test1 %s --vm 2 --vm-bytes %s --vm-hang 0", p.stress_image, p.vm_bytes)
    h.check("sleep 5")
