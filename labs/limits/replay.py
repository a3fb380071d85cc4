"""Limits and isolation as a student types them (seed 002 180-264, seed 003 227-236, 769, 784, 2664-2678).

B05/B06: `mydocker` (centos with a shell) and nsenter into it; C09: nginx:alpine with a cpuset,
cpu shares and a memory limit (no name in the notes); C02: `nginx-1` and a file written inside
it; C32: stress-ng without a memory limit (`test1`). C23's file test ends with `docker rm -fv`
(nothing is left to grade) and C31 has no command: neither is replayed nor graded.
"""

from harness.core.replay import Line, Replay, ReplayMistake

H = "docker01"
# the notes' "0-3" needs 4 CPUs; the catalog's reading: 0-(nproc-1), at most 0-3
CPUSET = '"0-$(( $(nproc) < 4 ? $(nproc) - 1 : 3 ))"'
PID = '$(docker inspect --format "{{.State.Pid}}" mydocker)'
C02_WRITE = "docker exec nginx-1 sh -c \"echo 'hello world test!' > /opt/test1\""
C09_RUN = f"docker run -d --cpuset-cpus={CPUSET} --cpu-shares=512 --memory=500m nginx:alpine"
C09_OF = "$(docker ps -q --filter ancestor=nginx:alpine | head -n1)"
STRESS = "docker run -d --rm --name test1 lorel/docker-stress-ng --vm 2 --vm-bytes 256m --vm-hang 0"

ACTIONS = (
    # B05 / B06 (seed 002): docker run --name mydocker -t -i centos /bin/bash, then nsenter into it
    Line(H, "docker run --name mydocker -t -i -d centos /bin/bash", seed="002:193"),
    Line(H, 'docker inspect --format "{{.State.Pid}}" mydocker', seed="002:260"),
    Line(H, f"nsenter -t {PID} -u -i -n -p hostname", seed="002:262"),
    # C09: docker run --cpuset-cpus="0-3" --cpu-shares=512 --memory=500m nginx:alpine
    Line(H, C09_RUN, seed="003:769"),
    # C02: nginx-1 (created at 003:784), a file written inside it, found on the host
    Line(H, "docker run -d -p 80:80 --name nginx-1 nginx:latest", seed="003:784"),
    Line(H, C02_WRITE, seed="003:227-229"),
    Line(H, "find / -name test1", seed="003:236", fails=True),
    # C32: stress-ng without a memory limit
    Line(H, "docker run --rm lorel/docker-stress-ng -help", seed="003:2665", fails=True),
    Line(H, STRESS, seed="003:2671 (image name as pulled at 2664)"),
    Line(H, "sleep 5; docker stats --no-stream", seed="003:2674"),
)

MISTAKES = (
    ReplayMistake(
        "memory-512m",
        "limited the C09 container to --memory=512m (\"about 500 MB\") instead of the notes' 500m",
        lines=(Line(H, f"docker rm -f {C09_OF}", seed="-"),
               Line(H, f"docker run -d --cpuset-cpus={CPUSET} --cpu-shares=512 --memory=512m nginx:alpine",
                    seed="003:769 with 512m")),
        undo=(Line(H, f"docker rm -f {C09_OF}", seed="-"), Line(H, C09_RUN, seed="003:769")),
        fails=frozenset({"test_c09_hostconfig", "test_c09_cgroup_v1_files", "test_c09_stats_limit"}),
    ),
    ReplayMistake(
        "stress-typo",
        "typed the notes' `lorel/dockerstress-ng` (no such image, the run fails) and went on: no stress-ng "
        "container runs (typed here as stopping test1)",
        lines=(Line(H, "docker stop test1", seed="-"),),
        undo=(Line(H, STRESS, seed="003:2671"), Line(H, "sleep 5", seed="-")),
        fails=frozenset({"test_c32_unlimited"}),
    ),
    ReplayMistake(
        "mydocker-without-tty",
        "ran mydocker without -t -i: /bin/bash exits at once, there is no process to nsenter",
        lines=(Line(H, "docker rm -f mydocker", seed="-"),
               Line(H, "docker run --name mydocker centos /bin/bash", seed="002:193 without -t -i")),
        undo=(Line(H, "docker rm -f mydocker", seed="-"),
              Line(H, "docker run --name mydocker -t -i -d centos /bin/bash", seed="002:193")),
        fails=frozenset({"test_b06_namespaces", "test_b06_nsenter"}),
    ),
    ReplayMistake(
        "file-on-host",
        "wrote /opt/test1 in the host's shell (forgot docker exec -it nginx-1 bash): nothing in the container layer",
        lines=(Line(H, "docker exec nginx-1 rm /opt/test1", seed="-"),
               Line(H, "mkdir -p /opt && echo 'hello world test!' > /opt/test1", seed="003:228 on the host")),
        undo=(Line(H, "rm /opt/test1", seed="-"), Line(H, C02_WRITE, seed="003:227-229")),
        fails=frozenset({"test_c02_mnt_and_pid"}),
    ),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "interactive runs (`docker run -it ...`, `-t -i`, the foreground nginx:alpine and nginx-1) are detached "
        "(`-d`, keeping -t -i where a shell must stay up); `docker exec -it nginx-1 bash` + echo is `docker exec "
        "nginx-1 sh -c \"echo ...\"`; the interactive `nsenter -t PID -u -i -n -p` runs `hostname` in the namespaces",
        "C09's `--cpuset-cpus=\"0-3\"` needs 4 CPUs: typed as 0-(nproc-1), at most 0-3 (the catalog's reading; the "
        "check grades the same against the student's host)",
        "C32's stress-ng gets `--vm-hang 0` so its two workers keep their memory without spinning two CPUs for the "
        "rest of the run (the grading machine is shared); `docker stats` is `docker stats --no-stream`",
        "`docker pull` lines are not typed and the images (nginx, nginx:alpine, centos, lorel/docker-stress-ng) are "
        "pre-loaded stand-ins under their Docker Hub names (no internet); C32's run uses the image name as pulled at "
        "2664, not the notes' `lorel/dockerstress-ng` typo (which would try Docker Hub and fail; the mistake "
        "stress-typo is a student who stopped there)",
        "C02's `apt update`/`apt install` inside nginx-1 are not typed (no internet); `ps -ef` inside it is not typed "
        "(the image has no procps)",
    ),
)
