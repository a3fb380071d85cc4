"""The course's limits, namespaces and cgroups steps, as the harness performs them in validate mode.

Interactive steps (`docker run -it`, `docker exec -it ... bash`) become detached runs and
`docker exec CONTAINER sh -c '...'`.
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution

solution = Solution()


def cpuset(params, docker01) -> str:
    """The notes' 0-3, capped to the CPUs the host has (the catalog: parametrise as 0-(nproc-1))."""
    if params.cpuset_cpus:
        return params.cpuset_cpus
    cpus = int(docker01.check("nproc").strip())
    return f"0-{min(4, cpus) - 1}" if min(4, cpus) > 1 else "0"


@solution.step("C09: docker run --cpuset-cpus 0-3 --cpu-shares=512 --memory=500m nginx:alpine (detached, named c09)")
def c09(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name c09 --cpuset-cpus=%s --cpu-shares=%s --memory=%s nginx:alpine",
            cpuset(p, h), str(p.cpu_shares), p.memory)


@solution.step("B05/C09: -c 512 -m 64m; -m 200m; --memory-reservation 300m under -m 500m")
def memory_forms(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run -d --name b05r -c 512 -m 64m nginx:alpine")
    h.check("docker run -d --name c09m200 -m 200m nginx:alpine")
    h.check("docker run -d --name c09res -m 500m --memory-reservation 300m nginx:alpine")


@solution.step("C31: a container with --oom-score-adj 500")
def c31(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name c31adj --oom-score-adj %s nginx:alpine", str(p.oom_score_adj))


@solution.step("C32: stress-ng --vm 2 --vm-bytes 256m without a limit (test1) and with -m 256m (test2)")
def c32(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    # Detached and bounded (the catalog's variant); --vm-hang 0 keeps the memory without spinning
    # two CPUs for the rest of the lab, --oomable lets the OOM killer's victim stay dead.
    h.check("docker run -d --name test1 %s --vm 2 --vm-bytes %s --vm-hang 0 --timeout 600s", p.stress_image, p.vm_bytes)
    h.check("docker run -d --name test2 -m %s %s --vm 2 --vm-bytes %s --vm-hang 0 --oomable --timeout 600s",
            p.vm_bytes, p.stress_image, p.vm_bytes)


@solution.step("B06: docker run --name mydocker -dit centos /bin/bash; nsenter -t PID -u -i -n -p")
def b06(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run --name mydocker -dit centos /bin/bash")
    pid = h.check("docker inspect --format '{{.State.Pid}}' mydocker").strip()
    h.check("nsenter -t %s -u -i -n -p hostname", pid)


@solution.step("C02: docker run -d --name nginx-1 nginx; echo 'hello world test!' > /opt/test1 inside")
def c02(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name nginx-1 nginx")
    h.check("docker exec nginx-1 sh -c %s", f"echo '{p.c02_text}' > /opt/test1")


@solution.step("C23: docker run -d --name nginx nginx; touch /gjhpwd.txt inside")
def c23(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name nginx nginx")
    h.check("docker exec nginx touch %s", p.c23_file)


# --------------------------------------------------------------------------- typical mistakes


def _memory_512m(env: LabEnv) -> None:
    """Gave c09 --memory=512m ("about 500 MB"), not the course's 500m."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f c09")
    h.check("docker run -d --name c09 --cpuset-cpus=%s --cpu-shares=%s --memory=512m nginx:alpine",
            cpuset(p, h), str(p.cpu_shares))


def _no_oom_score_adj(env: LabEnv) -> None:
    """Ran c31adj without --oom-score-adj."""
    h = env["docker01"]
    h.check("docker rm -f c31adj")
    h.check("docker run -d --name c31adj nginx:alpine")


def _stress_without_limit(env: LabEnv) -> None:
    """Ran test2 without -m 256m: nothing is OOM-killed, the workers take what they want."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f test2")
    h.check("docker run -d --name test2 %s --vm 2 --vm-bytes %s --vm-hang 0 --oomable --timeout 600s",
            p.stress_image, p.vm_bytes)


MISTAKES = (
    Mistake("memory_512m", "limited c09 to 512m instead of 500m", _memory_512m,
            frozenset({"test_c09_hostconfig", "test_c09_cgroup_v1_files", "test_c09_stats_limit"})),
    Mistake("no_oom_score_adj", "started c31adj without --oom-score-adj 500", _no_oom_score_adj,
            frozenset({"test_c31_oom_score_adj"})),
    Mistake("stress_without_limit", "ran test2 without -m 256m", _stress_without_limit,
            frozenset({"test_c32_oom_under_limit"})),
)
