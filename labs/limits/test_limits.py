"""Checks of the limits and isolation family (catalog B05, B06, C02, C09, C23, C31, C32).

Read-only on docker01: `docker inspect`/`stats`/`top`/`diff`, `docker exec ... cat` of cgroup and
/proc files, `nsenter` and `readlink /proc/PID/ns/*` on the host, files under overlay2."""

import re

import pytest

from labs.common.docker import running as _running
from labs.limits.solution import cpuset

MIB = 1024 * 1024


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
@pytest.mark.hint(zh="docker run -d --name c09 --cpuset-cpus=0-3 --cpu-shares=512 --memory=500m nginx:alpine：500m = 524288000 字节（CPU 少于 4 个时用 0-(CPU数-1)）",
                  en="docker run -d --name c09 --cpuset-cpus=0-3 --cpu-shares=512 --memory=500m nginx:alpine: 500m = 524288000 bytes (0-(CPUs-1) on hosts with fewer than 4 CPUs)")
def test_c09_hostconfig(docker01, params):
    """c09 runs with CpusetCpus 0-3 (capped to the host's CPUs), CpuShares 512 and Memory 524288000."""
    hc = _running(docker01, "c09")["HostConfig"]
    want = (cpuset(params, docker01), params.cpu_shares, params.memory_bytes)
    assert (hc["CpusetCpus"], hc["CpuShares"], hc["Memory"]) == want, \
        f"CpusetCpus {hc['CpusetCpus']!r}, CpuShares {hc['CpuShares']}, Memory {hc['Memory']}; expected {want}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="cgroup v1：容器内 /sys/fs/cgroup/memory/memory.limit_in_bytes、cpu/cpu.shares、cpuset/cpuset.cpus 就是这些限制",
                  en="cgroup v1: the container's /sys/fs/cgroup/memory/memory.limit_in_bytes, cpu/cpu.shares and cpuset/cpuset.cpus hold the limits")
def test_c09_cgroup_v1_files(docker01, params):
    """c09's cgroup files: memory.limit_in_bytes 524288000, cpu.shares 512, cpuset.cpus 0-3 (capped); same on the host side."""
    c = _running(docker01, "c09")
    if docker01.run("stat -fc %T /sys/fs/cgroup").stdout.strip() != "tmpfs":
        pytest.skip("the host uses cgroup v2 (memory.max, cpu.weight); the course's files are cgroup v1")
    files = {"memory/memory.limit_in_bytes": str(params.memory_bytes), "cpu/cpu.shares": str(params.cpu_shares),
             "cpuset/cpuset.cpus": cpuset(params, docker01)}
    for rel, want in files.items():
        got = _cat(docker01, "c09", f"/sys/fs/cgroup/{rel}")
        assert got == want, f"{rel} in c09 is {got!r}, expected {want}"
    host_side = docker01.run("cat /sys/fs/cgroup/memory/docker/%s/memory.limit_in_bytes", c["Id"]).stdout.strip()
    assert host_side == str(params.memory_bytes), f"the host's memory/docker/<id>/memory.limit_in_bytes is {host_side!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker stats 的 MEM USAGE / LIMIT 一栏显示 ... / 500MiB", en="docker stats shows MEM USAGE / LIMIT as ... / 500MiB")
def test_c09_stats_limit(docker01, params):
    """docker stats reports c09's memory limit as 500MiB."""
    _running(docker01, "c09")
    _, limit, _ = _stats(docker01, "c09")
    assert round(limit) == params.memory_bytes, f"limit {limit / MIB:.1f}MiB"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-m 的单位：64m = 67108864，200m = 209715200；--memory-reservation 300m（软限制，必须小于 -m）= 314572800；-c 512 即 --cpu-shares 512",
                  en="-m units: 64m = 67108864, 200m = 209715200; --memory-reservation 300m (soft, below -m) = 314572800; -c 512 is --cpu-shares 512")
def test_c09_memory_forms(docker01, params):
    """b05r: CpuShares 512 and Memory 67108864; c09m200: Memory 209715200; c09res: MemoryReservation 314572800 under 524288000."""
    b05 = _running(docker01, "b05r")["HostConfig"]
    assert (b05["CpuShares"], b05["Memory"]) == (512, params.b05_memory_bytes), f"b05r: {b05['CpuShares']}, {b05['Memory']}"
    assert _running(docker01, "c09m200")["HostConfig"]["Memory"] == params.m200_bytes
    res = _running(docker01, "c09res")["HostConfig"]
    assert (res["MemoryReservation"], res["Memory"]) == (params.reservation_bytes, params.memory_bytes), \
        f"c09res: reservation {res['MemoryReservation']}, memory {res['Memory']}"


# --------------------------------------------------------------------------- C31, C32: OOM


@pytest.mark.points(2)
@pytest.mark.hint(zh="--oom-score-adj 500：容器进程的 /proc/PID/oom_score_adj 为 500（默认 0，范围 -1000~1000）",
                  en="--oom-score-adj 500 makes the container's /proc/PID/oom_score_adj 500 (default 0, range -1000..1000)")
def test_c31_oom_score_adj(docker01, params):
    """c31adj has OomScoreAdj 500 and its process's oom_score_adj is 500; a default container's is 0; oom_score and oom_adj exist."""
    c = _running(docker01, "c31adj")
    assert c["HostConfig"]["OomScoreAdj"] == params.oom_score_adj, f"OomScoreAdj {c['HostConfig']['OomScoreAdj']}"
    adj = docker01.run("cat /proc/%s/oom_score_adj", str(c["State"]["Pid"])).stdout.strip()
    assert adj == str(params.oom_score_adj), f"/proc/PID/oom_score_adj is {adj!r}"
    default = _running(docker01, "c09")["State"]["Pid"]
    out = docker01.run("cat /proc/%s/oom_score_adj /proc/%s/oom_score /proc/%s/oom_adj", str(default), str(default),
                       str(default)).stdout.split()
    assert len(out) == 3 and out[0] == "0" and out[1].isdigit(), f"default container: oom_score_adj, oom_score, oom_adj = {out}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="不加 -m 时容器没有内存限制：stress-ng 的内存全部占用，docker stats 的 LIMIT 是宿主机总内存",
                  en="Without -m a container has no memory limit: stress-ng gets all it asks for and docker stats' LIMIT is the host's total memory")
def test_c32_unlimited(docker01, params):
    """test1 (stress-ng --vm 2 --vm-bytes 256m) has no limit: Memory 0, it holds ~256 MiB, its LIMIT is the host's memory, 3+ PIDs."""
    c = _running(docker01, "test1")
    assert c["HostConfig"]["Memory"] == 0, f"test1 has a memory limit {c['HostConfig']['Memory']}"
    used, limit, pids = _stats(docker01, "test1")
    total = int(docker01.run("docker info --format '{{.MemTotal}}'").stdout.strip())
    assert abs(limit - total) / total < 0.01, f"LIMIT {limit / MIB:.0f}MiB, host memory {total / MIB:.0f}MiB"
    assert used >= 0.8 * params.stress_limit_bytes and pids >= 3, f"used {used / MIB:.1f}MiB with {pids} PIDs"


@pytest.mark.points(3)
@pytest.mark.hint(zh="-m 256m 限制下 stress-ng 超出限制，内核 OOM killer 杀掉容器里的进程（memory.oom_control 的 oom_kill 计数增加），内存不超过 256MiB",
                  en="Under -m 256m stress-ng goes over the limit and the kernel's OOM killer kills a process in the container (oom_kill in memory.oom_control grows); usage stays within 256MiB")
def test_c32_oom_under_limit(docker01, params):
    """test2 runs under Memory 268435456, stays within it, and the OOM killer struck in its cgroup (oom_kill > 0)."""
    c = _running(docker01, "test2")
    assert c["HostConfig"]["Memory"] == params.stress_limit_bytes, f"test2 Memory {c['HostConfig']['Memory']}"
    used, limit, _ = _stats(docker01, "test2")
    assert used <= params.stress_limit_bytes and round(limit) == params.stress_limit_bytes, f"used {used / MIB:.1f}MiB / {limit / MIB:.1f}MiB"
    oom = _cat(docker01, "test2", "/sys/fs/cgroup/memory/memory.oom_control")
    kills = re.search(r"^oom_kill (\d+)", oom, re.M)
    if kills is None:
        pytest.skip(f"no oom_kill counter in memory.oom_control (cgroup v1 before kernel 4.13?): {oom!r}")
    assert int(kills[1]) > 0, f"memory.oom_control: {oom}"


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
    assert pid > 1
    mine, host = _ns(docker01, pid), _ns(docker01, 1)
    same = [n for n in ("net", "uts", "ipc", "pid", "mnt") if mine.get(n) == host.get(n)]
    assert not same, f"namespaces shared with the host: {same}"
    assert mine.get("user") == host.get("user"), "a separate user namespace (userns-remap?)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker inspect --format '{{.State.Pid}}' 得到 PID，nsenter -t PID -u/-n/-m -p 进入容器的命名空间（要进入文件系统需加 -m）",
                  en="Get the PID with docker inspect --format '{{.State.Pid}}', then nsenter -t PID -u/-n/-m -p enters the container's namespaces (-m for its filesystem)")
def test_b06_nsenter(docker01):
    """nsenter into mydocker: its hostname (UTS), its IP on eth0 (NET), and bash as PID 1 (MNT + PID)."""
    c = _running(docker01, "mydocker")
    pid = str(c["State"]["Pid"])
    hostname = docker01.run("nsenter -t %s -u hostname", pid).stdout.strip()
    assert hostname == c["Config"]["Hostname"], f"nsenter -u hostname: {hostname!r}"
    ip = next(n["IPAddress"] for n in c["NetworkSettings"]["Networks"].values())
    assert ip in docker01.run("nsenter -t %s -n ip -o -4 addr show eth0", pid).stdout, "eth0 in nsenter -n"
    comm = docker01.run("nsenter -t %s -m -p cat /proc/1/comm", pid).stdout.strip()
    assert comm == "bash", f"PID 1 seen through nsenter -m -p: {comm!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器里写的文件在宿主机 overlay2 的 UpperDir（diff）和 MergedDir 里；容器的 1 号进程是 nginx master，父进程是 containerd-shim",
                  en="A file written in the container lies in overlay2's UpperDir (diff) and MergedDir on the host; the container's PID 1 is the nginx master, child of containerd-shim")
def test_c02_mnt_and_pid(docker01, params):
    """nginx-1's /opt/test1 is in its UpperDir and MergedDir but not the host's /opt; PID 1 is nginx's master under containerd-shim; own hostname."""
    c = _running(docker01, "nginx-1")
    data = c["GraphDriver"]["Data"] or {}
    upper, merged = data.get("UpperDir"), data.get("MergedDir")
    assert upper and merged, f"no overlay2 dirs: {c['GraphDriver']}"
    assert docker01.run("cat %s/opt/test1", upper).stdout.strip() == params.c02_text, "/opt/test1 is not in the UpperDir"
    assert docker01.run("test -f %s/opt/test1", merged).rc == 0, "/opt/test1 is not in the MergedDir"
    assert docker01.run("test -e /opt/test1").rc != 0, "/opt/test1 exists on the host itself"
    cmd1 = docker01.run("docker exec nginx-1 cat /proc/1/cmdline 2>&1").stdout.replace("\0", " ")
    assert cmd1.startswith("nginx: master process"), f"PID 1 in nginx-1: {cmd1!r}"
    parent = docker01.run("ps -o comm= -p $(ps -o ppid= -p %s)", str(c["State"]["Pid"])).stdout.strip()
    assert parent.startswith("containerd-shim"), f"parent of nginx-1's process: {parent!r}"
    inner = docker01.run("docker exec nginx-1 hostname 2>&1").stdout.strip()
    assert inner == c["Config"]["Hostname"] != docker01.run("hostname").stdout.strip(), f"UTS: {inner!r}"


# --------------------------------------------------------------------------- C23: overlay2 layers


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker inspect 的 GraphDriver：LowerDir 是只读镜像层，UpperDir 是容器的读写层，新建的文件只出现在 UpperDir/MergedDir；docker diff 显示 A /gjhpwd.txt",
                  en="docker inspect's GraphDriver: LowerDir are the read-only image layers, UpperDir the container's writable layer; a new file appears only in UpperDir/MergedDir; docker diff shows A /gjhpwd.txt")
def test_c23_overlay2_layers(docker01, params):
    """The `nginx` container uses overlay2; /gjhpwd.txt (empty) is in UpperDir and MergedDir, in no LowerDir; docker diff shows it added."""
    c = _running(docker01, "nginx")
    assert c["GraphDriver"]["Name"] == "overlay2", c["GraphDriver"]["Name"]
    data = c["GraphDriver"]["Data"]
    assert {"LowerDir", "MergedDir", "UpperDir", "WorkDir"} <= set(data), sorted(data)
    for key in ("UpperDir", "MergedDir"):
        md5 = docker01.run("md5sum %s%s", data[key], params.c23_file).stdout.split()
        assert md5 and md5[0] == "d41d8cd98f00b204e9800998ecf8427e", f"{params.c23_file} in {key}: {md5}"
    lower = [d for d in data["LowerDir"].split(":") if docker01.run("test -e %s%s", d, params.c23_file).rc == 0]
    assert not lower, f"{params.c23_file} is in an image layer: {lower}"
    assert f"A {params.c23_file}" in docker01.run("docker diff nginx 2>&1").stdout.splitlines()
