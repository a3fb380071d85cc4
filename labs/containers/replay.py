"""The containers lab as a student types it from the notes (seed 000 DK05, DK10, DK20; seed 002 B03,
B05; seed 003 C08, C12; seed 001 A09), on docker01, in root's home.

Lines that only look (``docker ps``, ``docker images``, ``docker inspect``, ``docker logs``, ``docker
top``/``stats``, ``docker port``) change nothing and are not typed; the README lists every other
difference. Interactive shells (``-it``) are typed under ``script`` so the container still gets its
terminal, with the lines the notes type into it on standard input.
"""

from harness.core.replay import Line, Replay, ReplayMistake

H = "docker01"


def _l(text: str, seed: str, **kw) -> Line:
    return Line(H, text, seed=seed, **kw)


def _tty(command: str, typed: str, seed: str, **kw) -> Line:
    """An interactive ``docker run -it`` (or exec) with the lines the notes type inside it."""
    return _l(f"printf '{typed}' | script -qec '{command}' /dev/null", seed, **kw)


DK05 = (
    _l("docker run -d -p 80:80 nginx", "000:L1806"),
)

DK10 = (
    _l("docker run $(docker images -q centos:7.2.1511)", "000:L2178 (9aec5c5fe4ba: the notes' image ID)"),
    # DK05's nginx still holds port 80: the container is created but does not start
    _l("docker run -d  -p 80:80 nginx", "000:L2194", fails=True),
    _l("docker stop $(docker ps -lq)", "000:L2223 (92c: the notes' container ID)"),
    _l("docker container kill $(docker ps -lq)", "000:L2224 (not running)", fails=True),
    _tty("docker run -it centos bash", "exit\\n", "000:L2232"),
    _l("docker exec -i $(docker ps -aq --filter ancestor=nginx | head -1) bash </dev/null",
       "000:L2239 (docker exec -it 92c bash; not running)", fails=True),
    _l("docker rm -f `docker ps -aq`", "000:L2248"),
)

ECHO = _l("docker run ubuntu /bin/echo 'Hello world'", "000:L2744")
SHELL = _tty("docker run -it ubuntu /bin/bash", "pwd\\nwhoami\\nexit\\n", "000:L2746-L2750")
WEB = _l("docker run --rm --name my_nginx02  -d -p 80:80 nginx", "000:L2787")
DK20 = (ECHO, SHELL, WEB)

B03 = (
    _tty("docker run -it ubuntu:14.04 /bin/bash", "touch test\\nexit\\n", "002:127-129"),
    _l('docker commit -m "Add a test file" -a "AZ" $(docker ps -lq) test:0.1', "002:131 (ee634d03fb5d: the notes' ID)"),
)

B05 = (
    _l("docker create -it ubuntu:latest", "002:171"),
    _tty("docker run --name mydocker -t -i centos /bin/bash", "exit\\n", "002:193 (then exit, 002:228)"),
)

PING = _l("docker run -d --name test_ping nginx:alpine ping 127.0.0.1", "003:762 (ping www.baidu.com)")
C08 = (
    _l("docker run --name nginx -d nginx:alpine", "003:750"),
    _l("docker rm -f nginx", "003:755 (implied: the name is in use)"),
    _tty("docker run --name nginx -ti nginx:alpine /bin/sh", "exit\\n", "003:755"),
    _l("docker run -d --name test_echo nginx:alpine echo 1", "003:761"),
    PING,
    _l("docker rm -f nginx", "003:766 (implied: the name is in use)"),
    _l("docker run --name nginx -d -p 8080:80 nginx:alpine", "003:766"),
)

CP_BACK = _l("docker cp nginx:/tmp/test.txt ./", "003:840")
C12 = (
    _l("echo '123'>/tmp/test.txt", "003:834"),
    _l("docker cp /tmp/test.txt nginx:/tmp", "003:835"),
    _l("docker exec nginx cat /tmp/test.txt", "003:836 (-ti dropped: no terminal)"),
    CP_BACK,
    _l("docker stop nginx", "003:860"),
    _l("docker start nginx", "003:863"),
    _l("docker rm nginx", "003:866 (a running container: refused)", fails=True),
    _l("docker rm -f nginx", "003:869"),
)

COMMIT = _l('docker commit -a "cool" -m "this is test " $(docker ps -lq) nginx:1.0', "001:800 (eb49e0d3321a: the notes' ID)")
A09 = (
    _l("docker run -ti --name nginx -d nginx", "001:794"),
    COMMIT,
)

ACTIONS = DK05 + DK10 + DK20 + B03 + B05 + C08 + C12 + A09

# the ubuntu (not ubuntu:14.04) containers that ran /bin/bash: DK20's interactive shell
_DK20_SHELLS = ("docker ps -a --no-trunc --format '{{.ID}} {{.Image}} {{.Command}}' "
                "| awk '$2==\"ubuntu\" && $3==\"\\\"/bin/bash\\\"\" {print $1}'")

MISTAKES = (
    ReplayMistake(
        "no-rm", "started my_nginx02 with -d but without --rm",
        lines=(_l("docker rm -f my_nginx02", "mistake"), _l("docker run --name my_nginx02  -d -p 80:80 nginx", "mistake")),
        undo=(_l("docker rm -f my_nginx02", "undo"), WEB),
        fails=frozenset({"test_dk20_detached_autoremove"})),
    ReplayMistake(
        "shell-without-it", "ran docker run ubuntu /bin/bash without -it: the shell exits at once",
        lines=(_l(f"{_DK20_SHELLS} | xargs -r docker rm", "mistake"), _l("docker run ubuntu /bin/bash", "mistake")),
        undo=(SHELL,),
        fails=frozenset({"test_dk20_interactive_shell"})),
    ReplayMistake(
        "ping-stopped", "ran test_ping in the foreground and pressed Ctrl+C: PID 1 ended, the container exited",
        lines=(_l("docker kill -s INT test_ping", "mistake"),
               _l("sleep 1; docker inspect -f '{{.State.Running}}' test_ping | grep -qx false", "mistake")),
        undo=(_l("docker start test_ping", "undo"),),
        fails=frozenset({"test_c08_ping_pid1_keeps_running"})),
    ReplayMistake(
        "cp-back-elsewhere", "copied test.txt back into /tmp (docker cp nginx:/tmp/test.txt /tmp), not into ./",
        lines=(_l("rm -f test.txt", "mistake"),),
        undo=(_l("cp /tmp/test.txt test.txt", "undo (the copy 003:840 made)"),),
        fails=frozenset({"test_c12_cp_back"})),
    ReplayMistake(
        "commit-without-author", "committed nginx:1.0 without -a and -m",
        lines=(_l("docker commit nginx nginx:1.0", "mistake"),),
        undo=(_l('docker commit -a "cool" -m "this is test " nginx nginx:1.0', "undo (001:800)"),),
        fails=frozenset({"test_a09_commit_metadata"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "Course images are preloaded stand-ins under their Docker Hub names (nginx, nginx:alpine, centos:7, "
        "centos:7.2.1511 — one image —, ubuntu, ubuntu:14.04 — one image —, busybox); nothing is pulled.",
        "IDs the notes print (9aec5c5fe4ba, 92c, ee634d03fb5d, eb49e0d3321a) are the student's own: typed as "
        "$(docker images -q centos:7.2.1511) and $(docker ps -lq).",
        "Interactive shells (-it/-ti) run under `script` with the lines the notes type inside them on standard input "
        "(pwd, whoami, touch test, exit); `docker exec -ti NAME CMD` is typed without -ti.",
        "003:755 and 003:766 reuse the name nginx while the earlier nginx exists: `docker rm -f nginx` is typed first.",
        "003:761/762 carry prose after a comma (\",容器会立马退出\"): not typed. 003:762 pings 127.0.0.1: "
        "www.baidu.com cannot be reached here.",
        "Not typed: 000:L2771 (my_nginx02 in the foreground, Ctrl+C, --rm: leaves nothing), 002:214-215 and 002:225 "
        "(syntax lines and an attach to the exited mydocker), 003:769 (C09, labs/limits), 003:784-790 (C10, "
        "labs/networking), 003:826-827 (placeholders), `docker logs -f` (follows forever), seed 004's DK11 "
        "(a syntax list with NAME/ID placeholders and typos: `docker creat`, `docker -rm`).",
        "Lines that only look (docker ps/images/inspect/logs/top/stats/port, docket stats) are not typed.",
    ),
)
