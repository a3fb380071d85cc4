"""The course's container steps, non-interactive where the notes type into a shell (`-it`,
`docker exec -it ... bash`), as the harness performs them in validate mode."""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution

solution = Solution()


@solution.step("DK10: docker run centos:7.2.1511 (bash without a tty exits at once)")
def dk10(env: LabEnv) -> None:
    env["docker01"].check("docker run %s", env.params.exit_image)


@solution.step("DK20: docker run ubuntu /bin/echo 'Hello world'")
def dk20_echo(env: LabEnv) -> None:
    env["docker01"].check("docker run %s /bin/echo 'Hello world'", env.params.echo_image)


@solution.step("DK05/DK20: docker run --rm --name my_nginx02 -d -p 80:80 nginx")
def dk20_web(env: LabEnv) -> None:
    p = env.params
    env["docker01"].check("docker run --rm --name %s -d -p %s:80 nginx", p.web, str(p.web_port))


@solution.step("DK11: create -it, start, pause, unpause, restart, kill")
def dk11(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker create -it --name %s %s", p.lifecycle, p.lifecycle_image)
    for verb in ("start", "pause", "unpause"):
        h.check(f"docker {verb} %s", p.lifecycle)
    h.check("docker restart -t 1 %s", p.lifecycle)  # bash as PID 1 ignores SIGTERM: -t 1, not 10 s
    h.check("docker kill %s", p.lifecycle)


@solution.step("C08: PID 1 - test_echo (echo 1) exits, test_ping (ping) keeps running")
def c08_pid1(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name test_echo %s echo 1", p.alpine_image)
    h.check("docker run -d --name test_ping %s ping %s", p.alpine_image, p.ping_target)


@solution.step("C08: docker run --name nginx -d -p 8080:80 nginx:alpine")
def c08_web(env: LabEnv) -> None:
    p = env.params
    env["docker01"].check("docker run --name %s -d -p %s:80 %s", p.c12, str(p.c12_port), p.alpine_image)


@solution.step("B09: docker run -d -P nginx:alpine (every exposed port to a random host port)")
def b09(env: LabEnv) -> None:
    p = env.params
    env["docker01"].check("docker run -d --name %s -P %s", p.publish_all, p.alpine_image)


@solution.step("C12: echo '123' > /tmp/test.txt; docker cp to the container and back to ./")
def c12_cp(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("echo %s > %s", p.cp_content, p.cp_file)
    h.check("docker cp %s %s:/tmp", p.cp_file, p.c12)
    h.check("cd %s && docker cp %s:/tmp/test.txt ./", p.cp_back_dir, p.c12)


@solution.step("B05: exit codes 126 (not executable) and 127 (command not found)")
def b05(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    res = h.run("docker run --name %s busybox /etc", p.exit126)
    assert res.rc == 126, f"docker run busybox /etc exited {res.rc}"
    res = h.run("docker run --name %s busybox no-such-cmd", p.exit127)
    assert res.rc == 127, f"docker run busybox no-such-cmd exited {res.rc}"


@solution.step("A09: change the page of a running nginx, docker commit -a cool -m 'this is test ' -> nginx:1.0")
def a09(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -ti --name %s -d nginx", p.a09_container)
    h.check("docker exec %s sh -c %s", p.a09_container, f"echo {p.a09_marker} > /usr/share/nginx/html/index.html")
    h.check("docker commit -a %s -m %s %s %s", p.a09_author, p.a09_message, p.a09_container, p.a09_image)


@solution.step("B03: touch /test in an ubuntu:14.04 container, commit -m 'Add a test file' -a AZ -> test:0.1")
def b03(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run --name %s ubuntu:14.04 touch /test", p.b03_container)
    h.check("docker commit -m 'Add a test file' -a AZ %s %s", p.b03_container, p.b03_image)


# --------------------------------------------------------------------------- typical mistakes


def _no_rm(env: LabEnv) -> None:
    """Started my_nginx02 without --rm (the notes' -d re-run then clashes on the name)."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f %s", p.web)
    h.check("docker run --name %s -d -p %s:80 nginx", p.web, str(p.web_port))


def _ping_stopped(env: LabEnv) -> None:
    """Ran test_ping in the foreground and pressed Ctrl+C: PID 1 ended, the container exited."""
    env["docker01"].check("docker kill -s INT test_ping")


def _cp_back_to_tmp(env: LabEnv) -> None:
    """Copied the file back into /tmp instead of the current directory."""
    p, h = env.params, env["docker01"]
    h.check("rm -f %s/test.txt", p.cp_back_dir)


def _commit_without_author(env: LabEnv) -> None:
    """Committed nginx:1.0 without -a and -m."""
    p, h = env.params, env["docker01"]
    h.check("docker commit %s %s", p.a09_container, p.a09_image)


MISTAKES = (
    Mistake("no_rm", "started my_nginx02 without --rm", _no_rm, frozenset({"test_dk20_detached_autoremove"})),
    Mistake("ping_stopped", "ran test_ping in the foreground and stopped it with Ctrl+C", _ping_stopped,
            frozenset({"test_c08_ping_pid1_keeps_running"})),
    Mistake("cp_back_to_tmp", "copied test.txt back into /tmp, not into the current directory", _cp_back_to_tmp,
            frozenset({"test_c12_cp_both_ways"})),
    Mistake("commit_without_author", "committed nginx:1.0 without -a and -m", _commit_without_author,
            frozenset({"test_a09_commit_metadata"})),
)
