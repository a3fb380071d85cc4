"""The course's steps for the installation family, as the harness performs them in validate mode.

The hosts come with Debian's docker.io already installed (the course installs docker-ce from
a yum repository on CentOS 7); there is no systemd, so `systemctl restart docker` is
`labharness-dockerd restart` (same dockerd arguments, new daemon.json read).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from labs.common.docker import merge_daemon_json

solution = Solution()


def mirrors(params) -> list[str]:
    return [m.strip() for m in params.registry_mirrors.split(",") if m.strip()]


def _restart_docker(h) -> None:
    """`systemctl restart docker`: containers without a restart policy stop, as on the course's host."""
    h.check("labharness-dockerd restart", timeout=120)


@solution.step("DK02: kernel forwarding parameters in /etc/sysctl.conf, then sysctl -p")
def dk02_sysctl(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.put_file(p.sysctl_file, (env.files / "sysctl-docker.conf").read_bytes())
    h.check("sysctl -p %s", p.sysctl_file)


@solution.step("DK02: the docker daemon runs (the course: yum install docker-ce; systemctl enable --now docker)")
def dk02_daemon(env: LabEnv) -> None:
    env["docker01"].check("labharness-dockerd status && docker version")


@solution.step("DK03: registry-mirrors in /etc/docker/daemon.json, restart docker")
def dk03_daemon_json(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    merge_daemon_json(h, p.daemon_json, {"registry-mirrors": mirrors(p)})
    _restart_docker(h)


@solution.step("A01: docker run hello-world")
def a01_hello(env: LabEnv) -> None:
    env["docker01"].check("docker run hello-world")


@solution.step("DK05 + C01: docker run -d -p 80:80 nginx, then echo 'docker nginx test' > index.html in it")
def c01_nginx(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    cid = h.check("docker run -d -p %s:80 nginx", str(p.nginx_port)).strip()
    h.check("docker exec %s sh -c %s", cid, f"echo '{p.page}' > /usr/share/nginx/html/index.html")


# --------------------------------------------------------------------------- typical mistakes


def _sysctl_not_persisted(env: LabEnv) -> None:
    """Ran `sysctl -w` by hand only: nothing in /etc/sysctl.conf survives a reboot."""
    p, h = env.params, env["docker01"]
    h.check("sed -i -e '/ip_forward/d' -e '/rp_filter/d' %s", p.sysctl_file)


def _rp_filter_not_loaded(env: LabEnv) -> None:
    """Edited /etc/sysctl.conf but never ran `sysctl -p`: the running kernel still filters."""
    env["docker01"].check("sysctl -w net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1")


def _nginx_not_published(env: LabEnv) -> None:
    """Ran the quick-start nginx without -p 80:80 (then edited its page all the same)."""
    p, h = env.params, env["docker01"]
    for cid in h.check("docker ps -q --filter ancestor=nginx").split():
        h.check("docker rm -f %s", cid)
    cid = h.check("docker run -d nginx").strip()
    h.check("docker exec %s sh -c %s", cid, f"echo '{p.page}' > /usr/share/nginx/html/index.html")


MISTAKES = (
    Mistake("sysctl_not_persisted", "set the forwarding parameters with sysctl -w only, not in /etc/sysctl.conf",
            _sysctl_not_persisted, frozenset({"test_dk02_sysctl_persisted"})),
    Mistake("rp_filter_not_loaded", "edited /etc/sysctl.conf but never ran sysctl -p", _rp_filter_not_loaded,
            frozenset({"test_dk02_sysctl_runtime"})),
    Mistake("nginx_not_published", "ran the quick-start nginx without -p 80:80", _nginx_not_published,
            frozenset({"test_dk05_nginx_published", "test_c01_page_served"})),
)
