"""The course's steps for the installation family, as the harness performs them in validate mode.

The hosts come with Debian's docker.io already installed (the course installs docker-ce from
a yum repository on CentOS 7); there is no systemd, so `systemctl restart docker` is
`labharness-dockerd restart` (same dockerd arguments, new daemon.json read).
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from labs.common.docker import comma_list, merge_daemon_json

solution = Solution()


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
    merge_daemon_json(h, p.daemon_json, {"registry-mirrors": comma_list(p.registry_mirrors)})
    _restart_docker(h)


@solution.step("A01: docker run hello-world")
def a01_hello(env: LabEnv) -> None:
    env["docker01"].check("docker run hello-world")


@solution.step("DK05 + C01: docker run -d -p 80:80 nginx, then echo 'docker nginx test' > index.html in it")
def c01_nginx(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    cid = h.check("docker run -d -p %s:80 nginx", str(p.nginx_port)).strip()
    h.check("docker exec %s sh -c %s", cid, f"echo '{p.page}' > /usr/share/nginx/html/index.html")
