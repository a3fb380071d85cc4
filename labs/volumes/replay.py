"""The volumes lab as a student types it from the notes (seed 000 DK26-DK27, seed 002 B08, seed 003
C11, C24, C25), on docker01, in root's home.

Lines that only look (``docker inspect``, ``docker ps``, ``curl``, ``cat``, ``ls``) change nothing
and are not typed; the README lists every other difference.
"""

from harness.core.replay import Line, Replay, ReplayMistake

H = "docker01"


def _l(text: str, seed: str, **kw) -> Line:
    return Line(H, text, seed=seed, **kw)


DK26 = (
    _l("docker run -d -P --name cc_web -v /chaoge_web:/webapp training/webapp", "000:L3072"),
    _l("docker run -d -P --name web -v /chaoge_web:/webapp:ro training/webapp python app.py", "000:L3076"),
    _l("docker run -d -P --name web02 -v /webapp training/webapp python app.py", "000:L3102"),
)

DK27 = (
    _l("docker run -d -v /dbdata --name dbdata training/postgres", "000:L3123"),
    _l("docker run -d --volumes-from dbdata --name db1 training/postgres", "000:L3125"),
    _l("docker run -d --volumes-from dbdata --name db2 training/postgres", "000:L3127"),
)

BACKUP = _l("docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata", "002:300")
DBDATA2 = _l("docker run -v /dbdata --name dbdata2 ubuntu /bin/bash", "002:313")
RESTORE = _l("docker run --volumes-from dbdata2 -v $(pwd):/backup busybox tar xvf /backup/backup.tar", "002:315")

B08 = (
    # DK27 already made a container named dbdata: this one is refused (name in use), and the
    # backup below packs DK27's dbdata volume, as a student following both sections does.
    _l("docker run -d -v /dbdata --name dbdata training/postgres echo Data-only container for postgres", "002:298",
       fails=True),
    BACKUP,
    DBDATA2,
    RESTORE,
)

C11 = (
    _l("docker run --name nginx -d  -v /opt:/opt -v /var/log:/var/log nginx:alpine", "003:808"),
    # 003:809 (mysql:5.7) is not typed: no mysql:5.7 here (see README).
    _l("docker volume ls", "003:812"),
    # The notes then run a second container named nginx (003:814) and see a.txt in nginx2: the
    # first one had been removed (adaptation, see README).
    _l("docker rm -f nginx", "003:814 (implied)"),
    _l("docker volume create my-vol", "003:813"),
    _l("docker run --name nginx -d -v my-vol:/opt/my-vol nginx:alpine", "003:814"),
    _l("docker exec nginx touch /opt/my-vol/a.txt", "003:815 (-ti dropped: no terminal)"),
    _l("docker run --name nginx2 -d -v my-vol:/opt/hh nginx:alpine", "003:818"),
    _l("docker exec nginx2 ls /opt/hh/", "003:819 (-ti dropped: no terminal)"),
)

C24 = (
    _l("mkdir -p /data/web", "003:2086"),
    _l("echo 'eaglslab nginx test!' > /data/web/index.html", "003:2087"),
    _l("docker run -d -it --name web1 -v/data/web/:/usr/share/nginx/html/ -p 8080:80 nginx", "003:2095"),
    # a relative path is a volume name with invalid characters: refused (the catalog's pitfall)
    _l("docker run -d -it --name web2 -v data/web/:/usr/share/nginx/html/ -p 8081:80 nginx", "003:2097", fails=True),
    _l("echo 'hello world!' > /data/web/index.html", "003:2103"),
    _l("docker exec web1 bash -c \"echo 'docker test!' > /usr/share/nginx/html/index.html\"",
       "003:2113-2114 (docker exec -it web1 bash, then the echo)"),
    _l("docker rm -fv web1", "003:2126"),
    _l("docker rm -fv web2", "003:2128", fails=True),  # web2 was never created (003:2097)
    _l("docker run -d -it --name web1 -v /data/web/:/usr/share/nginx/html/:ro -p 8080:80 nginx", "003:2133"),
    _l("docker exec web1 bash -c 'echo 123 > /usr/share/nginx/html/index.html'",
       "003:2135-2137 (Read-only file system)", fails=True),
    _l("docker run -d -it --name web2 -v /data/web/index.html:/usr/share/nginx/html/index.html:ro -p 8081:80 nginx",
       "003:2143"),
)

C25 = (
    # C25 runs nginx-web on 8081 and new web1/web2: C24's web1 and web2 had been removed
    # (adaptation, see README).
    _l("docker rm -fv web1 web2", "003:2166 (implied)"),
    _l("docker run -d -it --name nginx-web -v /data/web/:/usr/share/nginx/html/:ro -p 8081:80 nginx", "003:2166"),
    _l("docker run -d -it --name web1 -p 8082:80 --volumes-from nginx-web nginx:latest", "003:2173 (--volumesfrom)"),
    _l("docker run -d -it --name web2 -p 8083:80 --volumes-from nginx-web nginx:latest", "003:2175 (--volumesfrom)"),
    _l("docker stop nginx-web", "003:2193"),
    _l("docker run -d -it --name web3 -p 8084:80 --volumes-from nginx-web nginx:latest", "003:2195 (--volumesfrom)"),
    _l("docker rm -fv nginx-web", "003:2204"),
    _l("docker run -d -it --name web4 -p 8085:80 --volumes-from nginx-web nginx:latest",
       "003:2206 (No such container: nginx-web)", fails=True),
)

ACTIONS = DK26 + DK27 + B08 + C11 + C24 + C25

WEB_RO = DK26[1]

MISTAKES = (
    ReplayMistake(
        "ro-forgotten", "ran `web` with -v /chaoge_web:/webapp, without :ro",
        lines=(_l("docker rm -f web", "mistake"),
               _l("docker run -d -P --name web -v /chaoge_web:/webapp training/webapp python app.py", "mistake")),
        undo=(_l("docker rm -f web", "undo"), WEB_RO),
        fails=frozenset({"test_dk26_ro_bind"})),
    ReplayMistake(
        "not-restored", "made dbdata2 (the empty volume) but never ran the restoring tar into it",
        lines=(_l("docker rm -v dbdata2", "mistake"), DBDATA2),
        undo=(RESTORE,),
        fails=frozenset({"test_b08_restored"})),
    ReplayMistake(
        "volume-name-typo", "started nginx2 with -v my_vol:/opt/hh: a new, empty volume instead of my-vol",
        lines=(_l("docker rm -f nginx2", "mistake"), _l("docker run --name nginx2 -d -v my_vol:/opt/hh nginx:alpine", "mistake")),
        undo=(_l("docker rm -f nginx2", "undo"), C11[-2]),
        fails=frozenset({"test_c11_named_volume_shared"})),
    ReplayMistake(
        "backup-no-volumes-from", "ran the backup without --volumes-from dbdata: tar finds no /dbdata",
        lines=(_l("rm -f backup.tar", "mistake"),
               _l("docker run -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata", "mistake", fails=True)),
        undo=(BACKUP,),
        fails=frozenset({"test_b08_backup"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "Course images are preloaded stand-ins under their Docker Hub names (training/webapp, training/postgres, "
        "ubuntu, busybox, nginx, nginx:alpine); nothing is pulled.",
        "003:809 (mysql:5.7 with a data bind) is not typed: there is no mysql:5.7 here and nothing can be pulled.",
        "003:814 runs a second container named nginx while 003:808's still exists, and 003:820 shows a.txt in "
        "nginx2: the first nginx had been removed (`docker rm -f nginx` is typed before 003:813).",
        "C25 (003:2166) publishes 8081 and names web1/web2 while C24's web1/web2 still run: they had been removed "
        "(`docker rm -fv web1 web2` is typed first).",
        "003:2173/2175/2195/2206 print `--volumesfrom` (PDF damage, catalog 0.3): typed `--volumes-from`.",
        "Interactive lines (docker exec -ti ..., docker exec -it web1 bash then echo) are typed as "
        "`docker exec NAME CMD` / `docker exec NAME bash -c '...'`.",
        "Lines that only look (docker inspect/ps, curl 192.168.80.10:PORT, cat, ls) are not typed.",
    ),
)
