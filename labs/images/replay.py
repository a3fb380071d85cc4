"""The images lab as a student types it from the notes (seed 000 DK09, DK20-DK21; seed 004 DK09 and
DK21's variants; seed 002 B02; seed 003 C05, C14), on docker01.

Lines that only look (``docker images``, ``docker inspect``, ``docker history``, ``ll``, ``ls``) change
nothing and are not typed; the README lists every other difference.
"""

from harness.core.replay import Line, Replay, ReplayMistake

H = "docker01"
MY_DOCKER = "/my_docker"


def _l(text: str, seed: str, cwd: str = "/root", **kw) -> Line:
    return Line(H, text, seed=seed, cwd=cwd, **kw)


def _md(text: str, seed: str, **kw) -> Line:
    return _l(text, seed, cwd=MY_DOCKER, **kw)


SAVE_7_2 = _md("docker image save centos:7.2.1511 > centos-7.2.1511.tgz", "000:L2137")

DK09 = (
    # the notes' prompt is already in /my_docker here; they make it later (000:L2676)
    _l("mkdir /my_docker", "000:L2676"),
    SAVE_7_2,
    _md("docker rmi centos:7.2.1511", "000:L2146 (1.删除centos7.2镜像: the notes give no command)"),
    _md("docker image load -i centos-7.2.1511.tgz", "000:L2148"),
)

DK21 = (
    _md("docker run --rm --name my_nginx02  -d -p 80:80 nginx", "000:L2787"),
    _md("docker export my_nginx02 > my_nginx02.tar", "000:L2826"),
    _md("docker import my_nginx02.tar test/my_nginx:v1.0", "000:L2830"),
)

S4 = (
    _l("docker save -o centos.tar centos:7", "004:L74"),
    _l("docker load --input centos.tar", "004:L76"),
    _l("docker load -i centos.tar", "004:L77"),
    _l("docker rmi ID", "004:L78 (ID: the notes' placeholder)", fails=True),
    # 004:L147 `docker export ID > *.tar` is a placeholder: DK21 already exported a container here
    _md("cat *.tar | docker import - test", "004:L149"),
)

B02 = (
    _l("docker tag centos:latest mycts:latest", "002:68"),
)

SAVE_O = _l("docker save centos:latest -o /opt/centos.tar.gz", "003:615")
C05 = (
    _l("docker save -o nginx-alpine.tar nginx:alpine", "003:608"),
    SAVE_O,
    _l("docker save centos:latest > /opt/centos-1.tar.gz", "003:619"),
    _l("docker load -i nginx-alpine.tar", "003:631"),
    _l("docker load -i /opt/centos.tar.gz", "003:636"),
    _l("docker load < /opt/centos.tar.gz", "003:640"),
)

IMPORT_MYCENTOS = _l("docker import /opt/centos.tar mycentos:v1", "003:928")
C14 = (
    _l("docker run -d -it centos", "003:913"),
    _l("docker export -o /opt/centos.tar $(docker ps -lq)", "003:920 (43f: the student's own container ID)"),
    IMPORT_MYCENTOS,
)

ACTIONS = DK09 + DK21 + S4 + B02 + C05 + C14

MISTAKES = (
    ReplayMistake(
        "export-instead-of-save",
        "made centos-7.2.1511.tgz with docker export of a centos container instead of docker image save",
        lines=(_md("docker export $(docker ps -lq) > centos-7.2.1511.tgz", "mistake"),),
        undo=(SAVE_7_2,),
        fails=frozenset({"test_dk09_save_archive"})),
    ReplayMistake(
        "both-saves-redirected", "wrote both C05 archives with `>` (method two), never with -o",
        lines=(_l("rm -f /opt/centos.tar.gz", "mistake"), _l("docker save centos:latest > /opt/centos.tar.gz", "mistake")),
        undo=(_l("rm -f /opt/centos.tar.gz", "undo"), SAVE_O),
        fails=frozenset({"test_c05_save_o_and_redirect"})),
    ReplayMistake(
        "tag-typo", "typed docker tag centos:latest mycts:lastest",
        lines=(_l("docker rmi mycts:latest", "mistake"), _l("docker tag centos:latest mycts:lastest", "mistake")),
        undo=(_l("docker rmi mycts:lastest", "undo"), B02[0]),
        fails=frozenset({"test_b02_tag"})),
    ReplayMistake(
        "import-without-name", "ran docker import /opt/centos.tar without a name: an untagged image, no mycentos:v1",
        lines=(_l("docker rmi mycentos:v1", "mistake"), _l("docker import /opt/centos.tar", "mistake")),
        undo=(IMPORT_MYCENTOS,),
        fails=frozenset({"test_c14_export_import_mycentos"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "Course images are preloaded stand-ins under their Docker Hub names (centos:latest, centos:7, "
        "centos:7.2.1511 — one image under three tags —, nginx, nginx:alpine): `docker pull` lines (003:585) are "
        "not typed.",
        "DK08 (000:L2078-L2132, L2160-L2165) is not typed: it pulls hello-world, removes images by the notes' own "
        "IDs and digests, and `docker rmi `docker images -aq`` (000:L2131) removes every preloaded image, which "
        "the course pulls again and nothing can here. Its end state (an absence) is not graded.",
        "000:L2137 (DK09) runs in /my_docker before the notes make it (000:L2676): `mkdir /my_docker` is typed first.",
        "000:L2146 says only \"delete the centos 7.2 image\": typed `docker rmi centos:7.2.1511`.",
        "000:L2771 (my_nginx02 in the foreground, ended with Ctrl+C, --rm) is not typed; 000:L2787 (-d) is.",
        "004:L147 `docker export ID > *.tar` is a placeholder and not typed; 004:L149 `cat *.tar | docker import - "
        "test` is typed in /my_docker, where *.tar is DK21's my_nginx02.tar.",
        "003:569 (tar zxf registry.tar.gz: the offline bundle of another host) is not typed: there is no bundle.",
        "003:920 exports the notes' container `43f`: typed with the student's own, `$(docker ps -lq)`.",
        "Lines that only look (docker images/inspect/history, ll, ls) are not typed.",
    ),
)
