"""The course's steps for DK39-DK42 (plus the harness's rolling update, rollback and drain),
as the harness performs them in validate mode.

Each step is what a student types on the named node. The commands are the notes' own where
this machine allows; README.md lists every difference (the stack file publishes in host mode
with a DNS round-robin database because the kernel here may lack IPVS, and nginx stays at 5
replicas so DK41 can be graded).
"""

from __future__ import annotations

from harness.errors import HarnessError
from harness.lab import LabEnv, Mistake, Solution
from harness.probes import http_get
from harness.wait import wait_until
from labs.swarm import state

solution = Solution()

WORKERS = ("worker1", "worker2")


def _converged(env: LabEnv, name: str, replicas: int) -> list[dict]:
    """Wait until ``replicas`` tasks of the service run (and no more are meant to)."""
    m = env["manager"]

    def probe():
        ts = state.tasks(m, name)
        live = state.running(ts)
        wanted = [t for t in ts if t["DesiredState"] == "running"]
        return live if len(live) == replicas and len(wanted) == replicas else None

    return wait_until(probe, timeout=180, what=f"{replicas} running tasks of {name}",
                      state=lambda: [(t["Slot"], t["NodeID"][:6], t["DesiredState"], t["Status"]["State"],
                                      t["Status"].get("Err", "")) for t in state.tasks(m, name)])


@solution.step("DK39: docker swarm init on manager, then join worker1 and worker2 with the worker token")
def dk39(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    m.check("docker swarm init --advertise-addr %s", m.address)
    token = m.check("docker swarm join-token -q worker").strip()
    for w in WORKERS:
        # the token travels in a file, so a failing join cannot print it into a report
        env[w].put_file("/run/labharness-swarm-token", token.encode(), 0o600)
        env[w].check('docker swarm join --token "$(cat /run/labharness-swarm-token)" %s; rc=$?; '
                     'rm -f /run/labharness-swarm-token; exit $rc', f"{m.address}:{p.swarm_port}")
    wait_until(lambda: sorted(n["Hostname"] for n in state.nodes(m) if n["State"] == "ready") == ["manager", *WORKERS],
               timeout=60, what="manager, worker1 and worker2 Ready in `docker node ls`", state=lambda: state.nodes(m))


@solution.step("DK40: docker service create --replicas 3 -p 80:80 --name nginx nginx:1.13.7-alpine")
def dk40(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    # the CLI waits until the service converged ("verify: Service converged")
    m.check("docker service create --replicas %s -p %s --name %s %s",
            str(p.replicas), f"{p.published_port}:80", p.service, p.image, timeout=240)
    _converged(env, p.service, p.replicas)


@solution.step("Rolling update of nginx to nginx:latest (2 tasks at a time, 1s apart), then docker service rollback")
def update_and_rollback(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    # update policy first (no task changes), so the rollback keeps it; monitor 1s keeps the lab fast
    m.check("docker service update --update-parallelism %s --update-delay %s --update-monitor 1s "
            "--rollback-parallelism %s --rollback-delay %s --rollback-monitor 1s %s",
            str(p.update_parallelism), p.update_delay, str(p.update_parallelism), p.update_delay, p.service)
    m.check("docker service update --image %s %s", p.update_image, p.service, timeout=240)
    m.check("docker service rollback %s", p.service, timeout=240)
    wait_until(lambda: ((state.service(m, p.service) or {}).get("UpdateStatus") or {}).get("State") == "rollback_completed",
               timeout=120, what="nginx rollback completed",
               state=lambda: (state.service(m, p.service) or {}).get("UpdateStatus"))
    _converged(env, p.service, p.replicas)


@solution.step("DK41: docker service scale nginx=5")
def dk41(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    m.check("docker service scale %s", f"{p.service}={p.scaled_replicas}", timeout=240)
    _converged(env, p.service, p.scaled_replicas)


@solution.step("Drain worker2: docker node update --availability drain worker2; its tasks move to the other nodes")
def drain(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    m.check("docker node update --availability drain %s", p.drained_node)
    wait_until(lambda: not state.running(state.node_tasks(m, p.drained_node))
               and len(state.running(state.tasks(m, p.service))) == p.scaled_replicas,
               timeout=120, what=f"no task left on {p.drained_node}, {p.scaled_replicas} nginx tasks running",
               state=lambda: [(t["Slot"], t["NodeID"][:6], t["Status"]["State"]) for t in state.tasks(m, p.service)])


def _installer_everywhere(env: LabEnv) -> bool:
    """Every running wordpress task answers with the WordPress installer on its host-mode port."""
    p, m = env.params, env["manager"]
    names = state.hostnames(m)
    live = state.running(state.tasks(m, f"{p.stack}_wordpress"))
    if len(live) != p.wordpress_replicas:
        return False
    for t in live:
        for port in state.published_ports(t):
            res = http_get(f"http://{env[names[t['NodeID']]].address}:{port['PublishedPort']}/", timeout=5)
            if res.status != 200 or "install" not in res.body:
                return False
    return True


@solution.step("DK42: docker stack deploy -c docker-compose.yml wordpress (on manager)")
def dk42(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    m.put_file(f"{p.stack_dir}/docker-compose.yml", (env.files / "stack" / "docker-compose.yml").read_bytes())
    m.check("cd %s && docker stack deploy -c docker-compose.yml %s", p.stack_dir, p.stack, timeout=120)
    for svc, n in (("db", 1), ("visualizer", 1), ("wordpress", p.wordpress_replicas)):
        _converged(env, f"{p.stack}_{svc}", n)
    # the stack has no depends_on (swarm ignores it): WordPress answers once the database is up
    wait_until(lambda: _installer_everywhere(env), timeout=180, what="every WordPress task serving the installer")


# --------------------------------------------------------------------------- typical mistakes


def _worker2_never_joined(env: LabEnv) -> None:
    """worker2 is not in the swarm (the notes' worker2 transcript runs `join` on worker1 again)."""
    m = env["manager"]
    env["worker2"].check("docker swarm leave")
    m.check("docker node rm --force worker2")


def _three_replicas(env: LabEnv) -> None:
    p = env.params
    env["manager"].check("docker service scale %s", f"{p.service}={p.replicas}", timeout=240)
    _converged(env, p.service, p.replicas)


def _not_rolled_back(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    m.check("docker service update --image %s %s", p.update_image, p.service, timeout=240)
    wait_until(lambda: ((state.service(m, p.service) or {}).get("UpdateStatus") or {}).get("State") == "completed",
               timeout=120, what="nginx update completed", state=lambda: (state.service(m, p.service) or {}).get("UpdateStatus"))


def _visualizer_without_socket(env: LabEnv) -> None:
    p, m = env.params, env["manager"]
    name = f"{p.stack}_visualizer"
    m.check("docker service update --mount-rm /var/run/docker.sock %s", name, timeout=240)
    _converged(env, name, 1)
    svc = state.service(m, name)
    if svc and svc.get("Mounts"):
        raise HarnessError(f"{name} still mounts {svc['Mounts']}")


MISTAKES = (
    Mistake("worker2_never_joined", "worker2 never ran `docker swarm join` (it is not in the swarm)",
            _worker2_never_joined,
            frozenset({"test_dk39_workers_joined", "test_dk39_node_ls", "test_swarm_drain_moves_tasks"})),
    Mistake("three_replicas", "left nginx at 3 replicas instead of scaling it to 5", _three_replicas,
            frozenset({"test_dk41_scaled_to_5"})),
    Mistake("not_rolled_back", "updated nginx to nginx:latest but never ran `docker service rollback`",
            _not_rolled_back, frozenset({"test_dk40_nginx_service", "test_swarm_rollback"})),
    Mistake("visualizer_without_socket", "deployed the visualizer without the /var/run/docker.sock volume",
            _visualizer_without_socket, frozenset({"test_dk42_visualizer"})),
)
