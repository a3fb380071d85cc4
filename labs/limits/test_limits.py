"""Checks of the limits and isolation family (catalog B05, B06, C02, C09, C32).

Read-only on docker01: `docker inspect`/`stats`, `docker exec ... cat` of cgroup and /proc files,
`nsenter` and `readlink /proc/PID/ns/*` on the host, files under overlay2. The containers the notes
name (mydocker, nginx-1, test1) are found by name; C09's, which the notes run without a name, by
its image and the limits it was given."""

import re

import pytest

from labs.common.docker import Want, find_containers
from labs.common.docker import running as _running
from labs.limits.solution import cpuset

MIB = 1024 * 1024


def _c09(docker01) -> dict:
    """C09's container: a running nginx:alpine run with --cpuset-cpus/--cpu-shares/--memory (no name in the notes)."""
    found = [c for c in find_containers(docker01, Want(image="nginx:alpine"))
             if c["HostConfig"].get("CpusetCpus") or c["HostConfig"].get("CpuShares") or c["HostConfig"].get("Memory")]
    assert found, ("no running container of image nginx:alpine on docker01 was run with --cpuset-cpus, "
                   "--cpu-shares or --memory")
    # the one given a cpuset, as C09's run; the newest of those
    return ([c for c in found if c["HostConfig"].get("CpusetCpus")] or found)[-1]


def _cat(docker01, name, path):
    return docker01.run("docker exec %s cat %s 2>&1", name, path).stdout.strip()


def _stats(docker01, name):
    """(used bytes, limit bytes, pids) from docker stats --no-stream."""
    out = docker01.run("docker stats --no-stream --format '{{.MemUsage}}|{{.PIDs}}' %s 2>&1", name).stdout.strip()
    m = re.match(r"([\d.]+)([KMG]i?B|B) / ([\d.]+)([KMG]i?B|B)\|(\d+)", out)
    assert m, f"docker stats printed {out!r}"
    unit = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "kB": 1000, "MB": 10**6, "GB": 10**9}
    return float(m[1]) * unit[m[2]], float(m[3]) * unit[m[4]], int(m[5])


# --------------------------------------------------------------------------- C09, B05: limits in bytes


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker run --cpuset-cpus=\"0-3\" --cpu-shares=512 --memory=500m nginx:alpine：500m = 524288000 字节（CPU 少于 4 个时用 0-(CPU数-1)）",
                  en="docker run --cpuset-cpus=\"0-3\" --cpu-shares=512 --memory=500m nginx:alpine: 500m = 524288000 bytes (0-(CPUs-1) on hosts with fewer than 4 CPUs)")
def test_c09_hostconfig(docker01, params):
    """C09's nginx:alpine runs with CpusetCpus 0-3 (capped to the host's CPUs), CpuShares 512 and Memory 524288000."""
    hc = _c09(docker01)["HostConfig"]
    want = (cpuset(params, docker01), params.cpu_shares, params.memory_bytes)
    assert (hc["CpusetCpus"], hc["CpuShares"], hc["Memory"]) == want, \
        f"CpusetCpus {hc['CpusetCpus']!r}, CpuShares {hc['CpuShares']}, Memory {hc['Memory']}; expected {want}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="cgroup v1：容器内 /sys/fs/cgroup/memory/memory.limit_in_bytes、cpu/cpu.shares、cpuset/cpuset.cpus 就是这些限制",
                  en="cgroup v1: the container's /sys/fs/cgroup/memory/memory.limit_in_bytes, cpu/cpu.shares and cpuset/cpuset.cpus hold the limits")
def test_c09_cgroup_v1_files(docker01, params):
    """C09's cgroup files: memory.limit_in_bytes 524288000, cpu.shares 512, cpuset.cpus 0-3 (capped); same on the host side."""
    c = _c09(docker01)
    if docker01.run("stat -fc %T /sys/fs/cgroup").stdout.strip() != "tmpfs":
        pytest.skip("the host uses cgroup v2 (memory.max, cpu.weight); the course's files are cgroup v1")
    files = {"memory/memory.limit_in_bytes": str(params.memory_bytes), "cpu/cpu.shares": str(params.cpu_shares),
             "cpuset/cpuset.cpus": cpuset(params, docker01)}
    for rel, want in files.items():
        got = _cat(docker01, c["Id"], f"/sys/fs/cgroup/{rel}")
        assert got == want, f"{rel} in {c['Name'][1:]} is {got!r}, expected {want}"
    host_side = docker01.run("cat /sys/fs/cgroup/memory/docker/%s/memory.limit_in_bytes", c["Id"]).stdout.strip()
    assert host_side == str(params.memory_bytes), f"the host's memory/docker/<id>/memory.limit_in_bytes is {host_side!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker stats 的 MEM USAGE / LIMIT 一栏显示 ... / 500MiB", en="docker stats shows MEM USAGE / LIMIT as ... / 500MiB")
def test_c09_stats_limit(docker01, params):
    """docker stats reports the memory limit of C09's container as 500MiB."""
    c = _c09(docker01)
    _, limit, _ = _stats(docker01, c["Id"])
    assert round(limit) == params.memory_bytes, \
        f"docker stats shows {c['Name'][1:]}'s limit as {limit / MIB:.1f}MiB, expected {params.memory_bytes / MIB:.0f}MiB"


# --------------------------------------------------------------------------- C32: no memory limit


@pytest.mark.points(2)
@pytest.mark.hint(zh="不加 -m 时容器没有内存限制：stress-ng 的内存全部占用，docker stats 的 LIMIT 是宿主机总内存",
                  en="Without -m a container has no memory limit: stress-ng gets all it asks for and docker stats' LIMIT is the host's total memory")
def test_c32_unlimited(docker01, params):
    """test1 (stress-ng --vm 2 --vm-bytes 256m) has no limit: Memory 0, it holds ~256 MiB, its LIMIT is the host's memory, 3+ PIDs."""
    c = _running(docker01, "test1")
    assert c["HostConfig"]["Memory"] == 0, f"test1 was run with a memory limit of {c['HostConfig']['Memory']} bytes (C32 runs it without -m)"
    used, limit, pids = _stats(docker01, "test1")
    out = docker01.run("docker info --format '{{.MemTotal}}'").stdout.strip()
    assert out.isdigit(), f"docker info shows no MemTotal: {out[:100]!r}"
    total = int(out)
    assert abs(limit - total) / total < 0.01, f"LIMIT {limit / MIB:.0f}MiB, host memory {total / MIB:.0f}MiB"
    assert used >= 0.8 * params.stress_bytes and pids >= 3, f"test1 uses {used / MIB:.1f}MiB with {pids} PIDs, expected about {params.stress_bytes / MIB:.0f}MiB with 3 or more (stress-ng --vm 2 --vm-bytes {params.vm_bytes})"


# --------------------------------------------------------------------------- B06, C02: namespaces


def _ns(docker01, pid):
    out = docker01.run("for n in net uts ipc pid mnt user; do echo $n $(readlink /proc/%s/ns/$n); done", str(pid)).stdout
    return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器进程的 /proc/PID/ns 下 net、uts、ipc、pid、mnt 与宿主机 1 号进程不同；user 相同（默认没有 user namespace）",
                  en="The container process's /proc/PID/ns differ from the host's PID 1 for net, uts, ipc, pid and mnt; user is the same (no user namespace by default)")
def test_b06_namespaces(docker01):
    """mydocker's process is in its own net, uts, ipc, pid and mnt namespaces, and in the host's user namespace."""
    pid = _running(docker01, "mydocker")["State"]["Pid"]
    assert pid > 1, f"mydocker's PID is {pid}"
    mine, host = _ns(docker01, pid), _ns(docker01, 1)
    same = [n for n in ("net", "uts", "ipc", "pid", "mnt") if mine.get(n) == host.get(n)]
    assert not same, f"mydocker shares these namespaces with the host: {same}"
    assert mine.get("user") == host.get("user"), "a separate user namespace (userns-remap?)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker inspect --format '{{.State.Pid}}' 得到 PID，nsenter -t PID -u/-n/-m -p 进入容器的命名空间（要进入文件系统需加 -m）",
                  en="Get the PID with docker inspect --format '{{.State.Pid}}', then nsenter -t PID -u/-n/-m -p enters the container's namespaces (-m for its filesystem)")
def test_b06_nsenter(docker01):
    """nsenter into mydocker: its hostname (UTS), its IP on eth0 (NET), and bash as PID 1 (MNT + PID)."""
    c = _running(docker01, "mydocker")
    pid = str(c["State"]["Pid"])
    hostname = docker01.run("nsenter -t %s -u hostname", pid).stdout.strip()
    assert hostname == c["Config"]["Hostname"], f"nsenter -u hostname shows {hostname!r}, not mydocker's {c['Config']['Hostname']}"
    ip = next((n.get("IPAddress") for n in (c["NetworkSettings"].get("Networks") or {}).values() if n.get("IPAddress")), "")
    assert ip, "mydocker has no IP address (run it on the default bridge)"
    eth0 = docker01.run("nsenter -t %s -n ip -o -4 addr show eth0", pid).stdout
    assert ip in eth0, f"nsenter -n ip addr show eth0 does not show mydocker's {ip}: {eth0.strip()[:200]!r}"
    comm = docker01.run("nsenter -t %s -m -p cat /proc/1/comm", pid).stdout.strip()
    assert comm == "bash", f"PID 1 seen through nsenter -m -p is {comm!r}, expected bash (docker run --name mydocker -t -i centos /bin/bash)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器里写的文件在宿主机 overlay2 的 UpperDir（diff）和 MergedDir 里；容器的 1 号进程是 nginx master，父进程是 containerd-shim",
                  en="A file written in the container lies in overlay2's UpperDir (diff) and MergedDir on the host; the container's PID 1 is the nginx master, child of containerd-shim")
def test_c02_mnt_and_pid(docker01, params):
    """nginx-1's /opt/test1 is in its UpperDir and MergedDir but not the host's /opt; PID 1 is nginx's master under containerd-shim; own hostname."""
    c = _running(docker01, "nginx-1")
    data = c["GraphDriver"]["Data"] or {}
    upper, merged = data.get("UpperDir"), data.get("MergedDir")
    assert upper and merged, f"nginx-1 has no overlay2 UpperDir/MergedDir: {c['GraphDriver'].get('Name')}"
    got = docker01.run("cat %s/opt/test1", upper).stdout.strip()
    assert got == params.c02_text, \
        f"nginx-1's UpperDir has no /opt/test1 saying {params.c02_text!r} ({got[:100]!r}): write it inside the container"
    assert docker01.run("test -f %s/opt/test1", merged).rc == 0, "/opt/test1 is not in nginx-1's MergedDir"
    assert docker01.run("test -e /opt/test1").rc != 0, "/opt/test1 exists on the host itself: it belongs inside nginx-1"
    cmd1 = docker01.run("docker exec nginx-1 cat /proc/1/cmdline 2>&1").stdout.replace("\0", " ")
    assert cmd1.startswith("nginx: master process"), f"PID 1 in nginx-1 is {cmd1[:100]!r}, not nginx's master process"
    parent = docker01.run("ps -o comm= -p $(ps -o ppid= -p %s)", str(c["State"]["Pid"])).stdout.strip()
    assert parent.startswith("containerd-shim"), f"parent of nginx-1's process: {parent!r}"
    inner = docker01.run("docker exec nginx-1 hostname 2>&1").stdout.strip()
    assert inner == c["Config"]["Hostname"] != docker01.run("hostname").stdout.strip(), f"nginx-1's hostname is {inner!r}"
