"""The course's steps for DK35-DK37 and C19-C22, as the harness performs them in validate mode.

What a student types on docker01. File contents come from ``files/`` (verbatim from the notes;
README.md lists every change). docker.md's parts run with Compose v1 (`docker-compose`) as in
those notes, others.md's with v2 (`docker compose`) as C19 installs it; either parameter may
name either CLI.
"""

from __future__ import annotations

import re

from harness.lab import LabEnv, Mistake, Solution
from harness.probes import http_get
from harness.wait import wait_until
from labs.compose import state

solution = Solution()

DK36_PAGE = re.compile(r"^Welcome to Chao Ge Class about docker-compose,this page has been visited (\d+) times$")
C21_PAGE = re.compile(r"^Hello World! I have been seen (\d+) times\.$")


def compose(env: LabEnv, which: str, directory: str, args: str, *argv: str, timeout: float = 180) -> str:
    """`cd DIR && <compose CLI> ARGS` on docker01; the CLI is one of two fixed strings."""
    cli = state.cli(getattr(env.params, which))
    return env["docker01"].check(f"cd %s && {cli} {args}", directory, *argv, timeout=timeout)


def _page(env: LabEnv, port: int, pattern: re.Pattern) -> re.Match | None:
    res = http_get(f"http://{env['docker01'].address}:{port}/", timeout=5)
    return pattern.match(res.body.strip()) if res.status == 200 else None


def _visit(env: LabEnv, port: int, pattern: re.Pattern, what: str) -> None:
    """Open the page as the student does in a browser, once it answers."""
    wait_until(lambda: _page(env, port, pattern), timeout=90, what=what,
               state=lambda: http_get(f"http://{env['docker01'].address}:{port}/", timeout=5))


@solution.step("DK35/C19: Compose v1 (docker-compose version) and v2 (docker compose version) answer")
def dk35(env: LabEnv) -> None:
    for which in ("compose_dk", "compose_c"):
        env["docker01"].check(f"{state.cli(getattr(env.params, which))} version")


@solution.step("C21: composetest: docker compose up -d builds web and starts web + redis; visit it; ps, logs, down")
def c21(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.put_dir(env.files / "composetest", p.ct_dir)
    compose(env, "compose_c", p.ct_dir, "up -d", timeout=300)
    _visit(env, p.web_port, C21_PAGE, "composetest's counter on port 5000")
    compose(env, "compose_c", p.ct_dir, "ps")
    compose(env, "compose_c", p.ct_dir, "logs web")
    # port 5000 is DK36's next: bring the project down (its image stays)
    compose(env, "compose_c", p.ct_dir, "down")


@solution.step("DK36: docker build -t chaoge/python_web; redis and flask_web linked by hand; then stop flask_web")
def dk36_manual(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    for name in ("app.py", "requirements.txt", "Dockerfile"):
        h.put_file(f"{p.app_dir}/{name}", (env.files / "chaoge_compose_app" / name).read_bytes())
    # compose file format v1, as in the notes; Compose v2 rejects it, so v2 gets the converted file
    yml = "docker-compose.yml" if state.is_v1(p.compose_dk) else "docker-compose.v2.yml"
    h.put_file(f"{p.app_dir}/docker-compose.yml", (env.files / "chaoge_compose_app" / yml).read_bytes())
    h.check("cd %s && docker build --no-cache -t %s .", p.app_dir, p.web_image, timeout=300)
    h.check("docker run -d -p %s --name %s redis", f"{p.redis_port}:6379", p.manual_redis)
    h.check("docker run -d -p %s --link %s --name %s %s python app.py",
            f"{p.web_port}:5000", f"{p.manual_redis}:redis", p.manual_web, p.web_image)
    _visit(env, p.web_port, DK36_PAGE, "flask_web's counter on port 5000")
    h.check("docker stop %s", p.manual_web)  # 可以停止之前运行的flask web容器 (port 5000)


@solution.step("DK36: docker-compose up -d in /chaoge_compose_app (web + redis); visit the counter")
def dk36_compose(env: LabEnv) -> None:
    p = env.params
    compose(env, "compose_dk", p.app_dir, "up -d")
    _visit(env, p.web_port, DK36_PAGE, "the compose web's counter on port 5000")


@solution.step("DK37: docker-compose up -d in /chaoge_compose_app/wordpress; WordPress answers once MySQL is up")
def dk37(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.put_file(f"{p.wp_dir}/docker-compose.yml", (env.files / "wordpress" / "docker-compose.yml").read_bytes())
    compose(env, "compose_dk", p.wp_dir, "up -d")

    def installer() -> bool:
        res = http_get(f"http://{h.address}:{p.wp_port}/", timeout=10)
        return res.status == 200 and "install" in res.body

    # depends_on orders the start only: WordPress shows a database error until MySQL is ready
    wait_until(installer, timeout=180, what="the WordPress installer on port 8000",
               state=lambda: http_get(f"http://{h.address}:{p.wp_port}/", timeout=10))


@solution.step("C22: docker compose up -d of the reference keys (container_name, depends_on, dns, healthcheck, ...)")
def c22(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.put_dir(env.files / "c22keys", p.keys_dir)
    compose(env, "compose_c", p.keys_dir, "up -d")
    wait_until(lambda: sum(c["State"]["Running"] for c in state.containers(h, p.keys_project)) == 3,
               timeout=60, what="the 3 containers of c22keys running",
               state=lambda: [(c["Name"], c["State"]["Status"]) for c in state.containers(h, p.keys_project)])


# --------------------------------------------------------------------------- typical mistakes


def _project_stopped(env: LabEnv) -> None:
    """`docker-compose up` in the foreground, then Ctrl+C: the project's containers stop."""
    compose(env, "compose_dk", env.params.app_dir, "stop")


def _wordpress_password_typo(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    yml = (env.files / "wordpress" / "docker-compose.yml").read_text()
    old = "WORDPRESS_DB_PASSWORD: wordpress"
    assert old in yml
    h.put_file(f"{p.wp_dir}/docker-compose.yml", yml.replace(old, "WORDPRESS_DB_PASSWORD: wordpres").encode())
    compose(env, "compose_dk", p.wp_dir, "up -d")


def _composetest_not_down(env: LabEnv) -> None:
    """`docker compose stop` (or create) instead of `down`: containers and network stay."""
    compose(env, "compose_c", env.params.ct_dir, "create")


def _ports_instead_of_expose(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    yml = (env.files / "c22keys" / "docker-compose.yml").read_text()
    assert "    expose:\n" in yml
    h.put_file(f"{p.keys_dir}/docker-compose.yml", yml.replace("    expose:\n", "    ports:\n").encode())
    compose(env, "compose_c", p.keys_dir, "up -d")


MISTAKES = (
    Mistake("project_stopped", "ran `docker-compose up` in the foreground and pressed Ctrl+C: web and redis stopped",
            _project_stopped,
            frozenset({"test_dk36_compose_services_up", "test_dk36_counter_increments", "test_dk36_compose_ps"})),
    Mistake("wordpress_password_typo", "WORDPRESS_DB_PASSWORD does not match MYSQL_PASSWORD",
            _wordpress_password_typo, frozenset({"test_dk37_wordpress_wiring", "test_dk37_site_installer"})),
    Mistake("composetest_not_down", "left composetest's containers and network behind (stop/create instead of down)",
            _composetest_not_down, frozenset({"test_c21_compose_down"})),
    Mistake("ports_instead_of_expose", "wrote the exposed ports under `ports:`, which publishes them on the host",
            _ports_instead_of_expose, frozenset({"test_c22_compose_expose"})),
)
