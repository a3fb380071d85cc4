"""The registry lab as a student types it: DK24's lines (seed 000, L2997-L3035) on docker01, then C06's
pushes (seed 003, L679-L704) to the same registry, with only the adaptations this machine forces
(README.md)."""

from harness.core.replay import Line, Replay, ReplayMistake, Wait

D = "docker01"
ADDR = "$(hostname -i | cut -d' ' -f1)"  # the notes' 10.0.1.70 (and C06's 172.21.16.3): docker01's own address
CWD = "/my_docker"  # the notes' prompt: [root@docker01 my_docker]
DAEMON_JSON = ("echo '{\"registry-mirrors\": [\"https://reg-mirror.qiniu.com\"],\"insecure-registries\":[\"'" + ADDR
               + "':5000\"]}' > /etc/docker/daemon.json")
RESTART = "labharness-dockerd restart"  # systemctl restart docker
UP = "curl -sf http://127.0.0.1:5000/v2/"
RUN_V1 = ("docker run -d --name cc_registry --restart=always -p 5000:5000 "
          "-v /opt/data/registry:/tmp/registry registry")
RUN = ("docker run -d \\\n      --name cc_registry \\\n      --restart=always \\\n    -p 5000:5000 \\\n"
       "    -v /opt/data/registry:/var/lib/registry \\\n    registry")
PUSH_ALL = (f"docker push {ADDR}:5000/cc-hello-world && docker push localhost:5000/nginx:alpine && "
            f"docker push {ADDR}:5000/nginx:alpine")


def _restart(why):
    return (Line(D, RESTART, seed=why), Wait(D, UP, why="cc_registry back (--restart=always)"))


ACTIONS = (
    Line(D, "mkdir -p /my_docker", seed="adaptation (the notes' prompt is in /my_docker, made in the Dockerfile lab)"),
    # DK24
    Line(D, RUN, seed="000:L2999-L3004", cwd=CWD),
    Line(D, "docker ps", seed="000:L3005", cwd=CWD),
    Wait(D, UP, why="the registry answering"),
    Line(D, f"docker tag hello-world {ADDR}:5000/cc-hello-world:latest", seed="000:L3011", cwd=CWD),
    Line(D, "docker images |grep hello", seed="000:L3012", cwd=CWD),
    Line(D, DAEMON_JSON, seed="000:L3018 (vi /etc/docker/daemon.json, with docker01's own address)", cwd=CWD),
    Line(D, "cat /etc/docker/daemon.json", seed="000:L3017", cwd=CWD),
    *_restart("000:L3019 (systemctl restart docker)"),
    Line(D, f"docker push {ADDR}:5000/cc-hello-world", seed="000:L3021", cwd=CWD),
    Line(D, "curl -s  127.0.0.1:5000/v2/_catalog | python3 -m json.tool", seed="000:L3026", cwd=CWD),
    Line(D, f"docker pull {ADDR}:5000/cc-hello-world", seed="000:L3034", cwd=CWD),
    # C06 (seed 003): the pushes, to the registry that already runs on 5000
    Line(D, "docker tag nginx:alpine localhost:5000/nginx:alpine", seed="003:L679"),
    Line(D, "docker push localhost:5000/nginx:alpine", seed="003:L680"),
    Line(D, f"docker tag nginx:alpine {ADDR}:5000/nginx:alpine", seed="003:L682"),
    Line(D, f"docker push {ADDR}:5000/nginx:alpine", seed="003:L683"),
    Line(D, "cat /etc/docker/daemon.json", seed="003:L688"),
    *_restart("003:L697 (systemctl restart docker)"),
    Line(D, f"docker push {ADDR}:5000/nginx:alpine", seed="003:L698"),
    Line(D, "docker images", seed="003:L699"),
)

MISTAKES = (
    ReplayMistake(
        "registry-v1-path", "ran the registry with B04's -v /opt/data/registry:/tmp/registry (the v1 path): "
                            "the images live in an anonymous volume, nothing reaches the host directory",
        lines=(Line(D, "docker rm -f -v cc_registry && rm -rf /opt/data/registry", seed="mistake"),
               Line(D, RUN_V1, seed="mistake"), Wait(D, UP, why="the registry answering"),
               Line(D, PUSH_ALL, seed="mistake")),
        undo=(Line(D, "docker rm -f -v cc_registry", seed="undo"),
              Line(D, RUN, seed="undo"), Wait(D, UP, why="the registry answering"),
              Line(D, PUSH_ALL, seed="undo")),
        fails=frozenset({"test_dk24_registry_container", "test_dk24_persisted_on_host"})),
    ReplayMistake(
        "mirrors-dropped", "wrote daemon.json with insecure-registries only: DK03's registry mirror is gone",
        lines=(Line(D, "echo '{\"insecure-registries\":[\"'" + ADDR + "':5000\"]}' > /etc/docker/daemon.json",
                    seed="mistake"), *_restart("mistake")),
        undo=(Line(D, DAEMON_JSON, seed="undo"), *_restart("undo")),
        fails=frozenset({"test_dk24_insecure_registry"})),
    ReplayMistake(
        "notes-ip-copied", "copied the notes' 10.0.1.70:5000 into insecure-registries instead of docker01's own address",
        lines=(Line(D, "echo '{\"registry-mirrors\": [\"https://reg-mirror.qiniu.com\"],"
                       "\"insecure-registries\":[\"10.0.1.70:5000\"]}' > /etc/docker/daemon.json", seed="mistake"),
               *_restart("mistake")),
        undo=(Line(D, DAEMON_JSON, seed="undo"), *_restart("undo")),
        fails=frozenset({"test_dk24_insecure_registry"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "No internet: `registry` (Debian's docker-registry 2.8, laid out like the official image), "
        "`hello-world` and `nginx:alpine` are pre-loaded stand-ins under their Docker Hub names.",
        "10.0.1.70 (DK24's docker01) and 172.21.16.3 (C06's registry host) are docker01's own address "
        "here (`hostname -i`), in the tags, the pushes and daemon.json.",
        "No systemd in the host containers: `systemctl restart docker` is `labharness-dockerd restart`.",
        "`python -m json.tool` is `python3 -m json.tool` (Debian has no `python`).",
        "The notes' prompt is in /my_docker (made in the Dockerfile lab): the replay makes it.",
        "One host holds one registry on port 5000: C06's own `docker run ... --name registry registry:2` and "
        "its daemon.json (another mirror) are not typed; its pushes go to DK24's cc_registry, whose "
        "daemon.json already lists the address, so C06's first push to the address succeeds here.",
    ),
)
