"""The Remote API lab as a student types it: the notes' own lines (seed 000, DK34, L3619-L3685) on
docker01 and on the remote client (the notes' Mac `yumac`, client01 here), with only the adaptations
this machine forces (README.md)."""

from harness.core.replay import Line, Replay, ReplayMistake, Wait

D, C = "docker01", "client01"
ARGS = "/run/labharness-dockerd.args"  # the host containers' ExecStart arguments (no systemd)
REMOTE = "$(getent hosts docker01 | awk '{print $1}'):2375"  # the notes' 10.0.1.70:2375
WEBAPP = "docker -H " + REMOTE + " run -d -P training/webapp python app.py"
CREATE = ("curl -X POST -H \"Content-Type:application/json\" http://127.0.0.1:2375/containers/create "
          "-d '{\"image\":\"centos\"}'")
# the notes paste the ID that the create printed (072c0a7ef96d)
DELETE = ("curl  -X DELETE    http://127.0.0.1:2375/containers/"
          "$(docker -H 127.0.0.1:2375 ps -aq --filter status=created --filter ancestor=centos | head -1)?v=1")
UP = "curl -sf http://127.0.0.1:2375/_ping"

ACTIONS = (
    Line(D, f"cat {ARGS}", seed="000:L3621 (cat /usr/lib/systemd/system/docker.service |grep sock)"),
    Line(D, "ps -ef|grep docker", seed="000:L3629"),
    # 1. ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375 (the notes edit docker.service)
    Line(D, f"printf -- '-H\\ntcp://0.0.0.0:2375\\n' >> {ARGS}", seed="000:L3640-L3641"),
    Line(D, f"cat {ARGS}", seed="000:L3639"),
    Line(D, "labharness-dockerd restart", seed="000:L3643-L3644 (systemctl daemon-reload; systemctl restart docker)"),
    Wait(D, UP, why="dockerd answering on TCP 2375"),
    Line(D, "ps -ef|grep docker", seed="000:L3645"),
    # 3. from the remote host
    Line(C, f"docker -H {REMOTE} images", seed="000:L3650"),
    Line(C, WEBAPP, seed="000:L3652"),
    Line(C, f"docker -H {REMOTE} ps", seed="000:L3655"),
    # the API on docker01 itself
    Line(D, "curl -s  http://127.0.0.1:2375/info |python3 -m json.tool", seed="000:L3665"),
    Line(D, "curl -s  http://127.0.0.1:2375/images/json |python3 -m json.tool", seed="000:L3667"),
    Line(D, "curl -s  http://127.0.0.1:2375/images/search?term=\"ubuntu\" |python3 -m json.tool", seed="000:L3669",
         fails=True),  # Docker Hub: no internet here
    Line(D, "curl -s  http://127.0.0.1:2375/containers/json  |python3 -m json.tool", seed="000:L3671"),
    Line(D, "docker  -H 127.0.0.1:2375 ps", seed="000:L3673"),
    Line(D, CREATE, seed="000:L3677"),
    Line(D, DELETE, seed="000:L3680"),
)


def _listen_on(addr: str, why: str):
    return (Line(D, f"sed -i 's|^tcp://.*:2375$|tcp://{addr}:2375|' {ARGS}", seed=why),
            Line(D, "labharness-dockerd restart", seed=why),
            Wait(D, UP, why="dockerd answering on TCP 2375"))


MISTAKES = (
    ReplayMistake(
        "loopback-only", "ExecStart with -H tcp://127.0.0.1:2375: the local curl works, the remote client is refused",
        lines=(*_listen_on("127.0.0.1", "mistake"),
               Line(C, WEBAPP, seed="mistake", fails=True),
               Line(D, CREATE, seed="mistake"), Line(D, DELETE, seed="mistake")),
        undo=(*_listen_on("0.0.0.0", "undo"),
              Line(C, WEBAPP, seed="undo"),
              Line(D, CREATE, seed="undo"), Line(D, DELETE, seed="undo")),
        fails=frozenset({"test_dk34_startup_config", "test_dk34_listener", "test_dk34_ping_from_outside",
                         "test_dk34_remote_container"})),
    ReplayMistake(
        "remote-run-without-p", "ran training/webapp from the client without -P: nothing is published",
        # fails=True: typed after loopback_only (the all-mistakes state), the client is refused and nothing changes
        lines=(Line(C, f"docker -H {REMOTE} rm -f $(docker -H {REMOTE} ps -q --filter ancestor=training/webapp)",
                    seed="mistake", fails=True),
               Line(C, f"docker -H {REMOTE} run -d training/webapp python app.py", seed="mistake", fails=True)),
        undo=(Line(C, f"docker -H {REMOTE} rm -f $(docker -H {REMOTE} ps -q --filter ancestor=training/webapp)", seed="undo"),
              Line(C, WEBAPP, seed="undo")),
        fails=frozenset({"test_dk34_remote_container"})),
    ReplayMistake(
        "created-not-deleted", "created a container through the API and never sent the DELETE",
        lines=(Line(D, CREATE, seed="mistake"),),
        undo=(Line(D, DELETE, seed="undo"),),
        fails=frozenset({"test_dk34_api_delete"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "No systemd in the host containers: dockerd's ExecStart arguments are /run/labharness-dockerd.args "
        "(one per line); the notes' ExecStart edit appends `-H tcp://0.0.0.0:2375` there, and "
        "`systemctl daemon-reload; systemctl restart docker` is `labharness-dockerd restart`. The wrapper "
        "always keeps `-H unix:///var/run/docker.sock` (the harness reads the host through it), where the "
        "notes' ExecStart drops the socket.",
        "10.0.1.70 (the notes' docker01) is docker01's address here, looked up by name on client01 "
        "(`getent hosts docker01`); the notes' Mac `yumac` is client01.",
        "`python -m json.tool` is `python3 -m json.tool` (Debian has no `python`).",
        "`images/search` needs Docker Hub: no internet here, so that line fails.",
        "The DELETE line pastes the ID the create printed (072c0a7ef96d in the notes): the replay looks it up "
        "(`docker -H 127.0.0.1:2375 ps -aq --filter status=created --filter ancestor=centos`).",
        "`training/webapp` and `centos` are pre-loaded stand-ins under their Docker Hub names.",
    ),
)
