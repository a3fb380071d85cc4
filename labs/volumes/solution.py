"""The course's volume steps, as the harness performs them in validate mode (on docker01)."""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution

solution = Solution()


def clients(params) -> list[tuple[str, int]]:
    out = []
    for item in params.clients.split(","):
        name, port = item.split(":")
        out.append((name.strip(), int(port)))
    return out


@solution.step("DK26: cc_web with -v /chaoge_web:/webapp, web with :ro, web02 with an anonymous /webapp volume")
def dk26(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d -P --name cc_web -v %s:%s training/webapp", p.bind_source, p.bind_target)
    h.check("docker run -d -P --name web -v %s:%s:ro training/webapp python app.py", p.bind_source, p.bind_target)
    h.check("docker run -d -P --name web02 -v %s training/webapp python app.py", p.bind_target)


@solution.step("DK27: dbdata with a /dbdata volume; db1 and db2 with --volumes-from dbdata")
def dk27(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d -v %s --name dbdata training/postgres", p.data_path)
    h.check("docker run -d --volumes-from dbdata --name db1 training/postgres")
    h.check("docker run -d --volumes-from dbdata --name db2 training/postgres")


@solution.step("B08: a marker in dbdata's volume, tar it to ./backup.tar, restore it into dbdata2's empty volume")
def b08(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run --rm --volumes-from dbdata busybox sh -c %s", f"echo {p.marker} > {p.data_path}/marker.txt")
    h.check("cd %s && docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar %s",
            p.backup_dir, p.data_path)
    h.check("docker run -v %s --name dbdata2 ubuntu /bin/bash", p.data_path)
    h.check("cd %s && docker run --volumes-from dbdata2 -v $(pwd):/backup busybox tar xvf /backup/backup.tar",
            p.backup_dir)


@solution.step("C11: docker volume create my-vol; nginx writes a.txt on it, nginx2 sees it at /opt/hh")
def c11(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker volume create %s", p.volume)
    h.check("docker run --name nginx -d -v %s:/opt/my-vol nginx:alpine", p.volume)
    h.check("docker exec nginx touch /opt/my-vol/a.txt")
    h.check("docker run --name nginx2 -d -v %s:/opt/hh nginx:alpine", p.volume)


@solution.step("C24: /data/web bound into web1 and web2; edits from the host and from web1; rm -fv both")
def c24(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("mkdir -p %s && echo 'eaglslab nginx test!' > %s/index.html", p.web_dir, p.web_dir)
    h.check("docker run -d -it --name web1 -v %s/:/usr/share/nginx/html/ -p 8080:80 nginx", p.web_dir)
    h.check("docker run -d -it --name web2 -v %s/:/usr/share/nginx/html/ -p 8081:80 nginx", p.web_dir)
    h.check("echo 'hello world!' > %s/index.html", p.web_dir)
    h.check("docker exec web1 sh -c %s", f"echo '{p.web_page}' > /usr/share/nginx/html/index.html")
    h.check("docker rm -fv web1 web2")


@solution.step("C25: nginx-web serves /data/web read-only; web1, web2 --volumes-from it; stop it, web3; rm -fv it")
def c25(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d -it --name %s -v %s/:/usr/share/nginx/html/:ro -p 8081:80 nginx", p.server, p.web_dir)
    (c1, port1), (c2, port2), (c3, port3) = clients(p)[:3]
    for name, port in ((c1, port1), (c2, port2)):
        h.check("docker run -d -it --name %s -p %s:80 --volumes-from %s nginx:latest", name, str(port), p.server)
    h.check("docker stop %s", p.server)
    h.check("docker run -d -it --name %s -p %s:80 --volumes-from %s nginx:latest", c3, str(port3), p.server)
    h.check("docker rm -fv %s", p.server)


# --------------------------------------------------------------------------- typical mistakes


def _ro_forgotten(env: LabEnv) -> None:
    """Ran `web` with -v /chaoge_web:/webapp, without :ro."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f web")
    h.check("docker run -d -P --name web -v %s:%s training/webapp python app.py", p.bind_source, p.bind_target)


def _not_restored(env: LabEnv) -> None:
    """Created dbdata2 but never ran the restoring tar."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -v dbdata2")
    h.check("docker run -v %s --name dbdata2 ubuntu /bin/bash", p.data_path)


def _volume_name_typo(env: LabEnv) -> None:
    """Started nginx2 with -v my_vol:/opt/hh: a new, empty volume instead of my-vol."""
    h = env["docker01"]
    h.check("docker rm -f nginx2")
    h.check("docker run --name nginx2 -d -v my_vol:/opt/hh nginx:alpine")


MISTAKES = (
    Mistake("ro_forgotten", "bound /chaoge_web into `web` read-write (no :ro)", _ro_forgotten,
            frozenset({"test_dk26_ro_bind"})),
    Mistake("not_restored", "created dbdata2 but never restored the backup into it", _not_restored,
            frozenset({"test_b08_restored"})),
    Mistake("volume_name_typo", "mounted my_vol instead of my-vol in nginx2", _volume_name_typo,
            frozenset({"test_c11_named_volume_shared"})),
)
