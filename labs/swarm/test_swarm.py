"""Checks of the swarm lab (catalog docker.md DK39-DK42, plus rolling update, rollback, drain).

Read-only on the nodes: `docker info`, `docker node/service/stack/network/volume inspect` through
templates that print only the fields a check needs (no task environment, no join token), and
`docker exec <task> getent|curl` probes inside WordPress tasks for DNS round-robin and VIPs.
Pages are fetched from the grader's side. Routing-mesh and VIP checks need IPVS in the kernel
and are SKIP where it is missing; host-mode publishing and dnsrr are checked everywhere.
"""

import json

import pytest

from harness.probes import http_get
from labs.swarm import state

WORKERS = ("worker1", "worker2")


def _service(manager, name):
    svc = state.service(manager, name)
    assert svc is not None, f"there is no service {name} (docker service ls on the manager)"
    return svc


def _base(image):
    return (image or "").split("@")[0]


def _node_names(manager):
    return state.hostnames(manager)


def _installer(res):
    """True when a response is the WordPress installer (the database was reachable)."""
    return res.status == 200 and "install" in res.body and "Error establishing a database connection" not in res.body


# --------------------------------------------------------------------------- DK39


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 manager 上执行 docker swarm init --advertise-addr <manager的IP>，它就成为管理节点",
                  en="Run docker swarm init --advertise-addr <manager's IP> on manager; it becomes a manager node")
def test_dk39_manager_initialised(manager):
    """manager is an active swarm manager advertising its own address."""
    info = state.swarm_info(manager)
    assert info.get("LocalNodeState") == "active", f"manager is not in a swarm (LocalNodeState={info.get('LocalNodeState')!r})"
    assert info.get("ControlAvailable") is True, "manager is in the swarm but not as a manager"
    assert info.get("NodeAddr") == manager.address, \
        f"manager advertises {info.get('NodeAddr')!r}, not its address {manager.address} (--advertise-addr)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 worker1 和 worker2 上分别执行 docker swarm join --token <worker令牌> <manager的IP>:2377（令牌用 docker swarm join-token -q worker 获取）",
                  en="On worker1 and on worker2 run docker swarm join --token <worker token> <manager IP>:2377 (get the token with docker swarm join-token -q worker)")
def test_dk39_workers_joined(manager, worker1, worker2, params):
    """worker1 and worker2 joined the swarm as workers of the manager's address."""
    want = f"{manager.address}:{params.swarm_port}"
    for w in (worker1, worker2):
        info = state.swarm_info(w)
        assert info.get("LocalNodeState") == "active", f"{w.name} is not in a swarm (LocalNodeState={info.get('LocalNodeState')!r})"
        assert info.get("ControlAvailable") is False, f"{w.name} joined as a manager, not as a worker"
        remotes = [r.get("Addr") for r in info.get("RemoteManagers") or []]
        assert want in remotes, f"{w.name}'s managers are {remotes}, expected {want}"


@pytest.mark.points(4)
@pytest.mark.hint(zh="docker node ls 应列出 manager、worker1、worker2 三个节点，状态都是 Ready，manager 是 Leader",
                  en="docker node ls must list manager, worker1 and worker2, all Ready, with manager as the Leader")
def test_dk39_node_ls(manager):
    """`docker node ls`: manager (Leader), worker1 and worker2, all Ready; one manager, two workers."""
    nodes = state.nodes(manager)
    seen = {n["Hostname"]: n for n in nodes}
    assert sorted(seen) == ["manager", *WORKERS], f"the swarm's nodes are {sorted(seen)}"
    not_ready = {h: n["State"] for h, n in seen.items() if n["State"] != "ready"}
    assert not not_ready, f"nodes not Ready: {not_ready}"
    leaders = [h for h, n in seen.items() if n["Leader"]]
    assert leaders == ["manager"], f"leader(s): {leaders}"
    roles = {h: n["Role"] for h, n in seen.items()}
    assert roles == {"manager": "manager", "worker1": "worker", "worker2": "worker"}, f"roles: {roles}"


# --------------------------------------------------------------------------- DK40


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker service create --replicas 3 -p 80:80 --name nginx nginx:1.13.7-alpine",
                  en="docker service create --replicas 3 -p 80:80 --name nginx nginx:1.13.7-alpine")
def test_dk40_nginx_service(manager, params):
    """Service nginx: replicated, image nginx:1.13.7-alpine, port 80 published to 80."""
    svc = _service(manager, params.service)
    assert "Replicated" in (svc["Mode"] or {}), f"mode is {svc['Mode']}, not replicated"
    assert _base(svc["Image"]) == params.image, f"image is {svc['Image']}, expected {params.image}"
    ports = (svc["EndpointSpec"] or {}).get("Ports") or []
    assert any(p.get("PublishedPort") == params.published_port and p.get("TargetPort") == 80 for p in ports), \
        f"port 80 is not published to 80: {ports}"


@pytest.mark.requires("ipvs")
@pytest.mark.points(3)
@pytest.mark.hint(zh="路由网格（ingress）让每个节点的 80 端口都能访问 nginx 服务，即使该节点上没有任务",
                  en="The routing mesh (ingress) answers on port 80 of every node, even one that runs no task")
def test_dk40_routing_mesh(manager, worker1, worker2, params):
    """The routing mesh: http://<each node>:80/ shows the nginx welcome page."""
    for h in (manager, worker1, worker2):
        res = http_get(f"http://{h.address}:{params.published_port}/")
        assert res.status == 200 and "Welcome to nginx!" in res.body, f"{h.name}: {res}"


# --------------------------------------------------------------------------- DK41


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker service scale nginx=5，然后用 docker service ps nginx 确认 5 个任务都在运行",
                  en="docker service scale nginx=5, then check with docker service ps nginx that 5 tasks run")
def test_dk41_scaled_to_5(manager, params):
    """nginx is scaled to 5 replicas and 5 tasks run."""
    svc = _service(manager, params.service)
    replicas = (svc["Mode"].get("Replicated") or {}).get("Replicas")
    assert replicas == params.scaled_replicas, f"nginx has {replicas} replicas, expected {params.scaled_replicas}"
    live = state.running(state.tasks(manager, params.service))
    assert len(live) == params.scaled_replicas, f"{len(live)} nginx tasks run, expected {params.scaled_replicas}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="调度器会把任务分散到各个节点：每个可用（Active）节点上都应有 nginx 任务",
                  en="The scheduler spreads tasks over the nodes: every Active node should run nginx tasks")
def test_dk41_tasks_spread(manager, params):
    """nginx's running tasks are spread: on more than one node, and on every active node."""
    live = state.running(state.tasks(manager, params.service))
    nodes = state.nodes(manager)
    names = {n["ID"]: n["Hostname"] for n in nodes}
    used = {names.get(t["NodeID"], t["NodeID"]) for t in live}
    active = {n["Hostname"] for n in nodes if n["Availability"] == "active" and n["State"] == "ready"}
    assert len(used) > 1, f"nginx's {len(live)} running tasks are all on {sorted(used)}"
    assert active <= used, f"active nodes without an nginx task: {sorted(active - used)} (tasks on {sorted(used)})"


# --------------------------------------------------------------------------- rolling update, rollback, drain


def _updated_tasks(tasks, params):
    """Tasks (history included) that ran the update's image: the rolling update happened."""
    return [t for t in tasks if _base(t["Image"]) == params.update_image]


@pytest.mark.points(2)
@pytest.mark.hint(zh="滚动更新：docker service update --update-parallelism 2 --update-delay 1s nginx，再 docker service update --image nginx:latest nginx",
                  en="Rolling update: docker service update --update-parallelism 2 --update-delay 1s nginx, then docker service update --image nginx:latest nginx")
def test_swarm_rolling_update(manager, params):
    """nginx was updated to nginx:latest with a rolling policy: 2 tasks at a time, 1s apart."""
    svc = _service(manager, params.service)
    cfg = svc["UpdateConfig"] or {}
    delay_ns = int(float(params.update_delay.rstrip("s")) * 1e9)
    assert cfg.get("Parallelism") == params.update_parallelism and cfg.get("Delay", 0) == delay_ns, \
        f"update policy: parallelism {cfg.get('Parallelism')}, delay {cfg.get('Delay', 0) / 1e9:g}s; " \
        f"expected {params.update_parallelism} and {params.update_delay}"
    # a later `docker service scale` replaces PreviousSpec, so the task history is the evidence
    ran = _updated_tasks(state.tasks(manager, params.service), params)
    assert ran or params.update_image in {_base(svc["Image"]), _base(svc["PreviousImage"])}, \
        f"no nginx task ever ran {params.update_image}: the service was never updated to it"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker service rollback nginx 会回到更新前的配置（镜像 nginx:1.13.7-alpine）",
                  en="docker service rollback nginx returns to the spec before the update (image nginx:1.13.7-alpine)")
def test_swarm_rollback(manager, params):
    """nginx was rolled back after its update: every running task runs nginx:1.13.7-alpine again."""
    svc = _service(manager, params.service)
    status = (svc["UpdateStatus"] or {}).get("State")
    tasks = state.tasks(manager, params.service)
    assert _updated_tasks(tasks, params) or status == "rollback_completed", \
        f"nginx was never updated to {params.update_image}, so there was nothing to roll back"
    assert status not in ("updating", "paused", "rollback_started", "rollback_paused"), \
        f"nginx's update is {status}: {(svc['UpdateStatus'] or {}).get('Message')}"
    assert _base(svc["Image"]) == params.image, f"nginx's image is {svc['Image']}, not back to {params.image}"
    wrong = [t["Image"] for t in state.running(tasks) if _base(t["Image"]) != params.image]
    assert not wrong, f"running tasks still on {wrong}"


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker node update --availability drain worker2：该节点上的任务会被迁移到其他节点",
                  en="docker node update --availability drain worker2: the node's tasks are moved to the other nodes")
def test_swarm_drain_moves_tasks(manager, params):
    """worker2 is drained: it ran tasks before, none runs there now (they moved to other nodes)."""
    node = {n["Hostname"]: n for n in state.nodes(manager)}.get(params.drained_node)
    assert node is not None, f"{params.drained_node} is not a node of the swarm"
    assert node["Availability"] == "drain", f"{params.drained_node} availability is {node['Availability']}, not drain"
    history = state.node_tasks(manager, params.drained_node)
    assert history, f"{params.drained_node} never ran a task, so draining moved nothing"
    left = [t["ID"][:12] for t in state.running(history)]
    assert not left, f"tasks still running on {params.drained_node}: {left}"


# --------------------------------------------------------------------------- DK42


def _stack(manager, params):
    svcs = {s["Name"]: s for s in state.services(manager, params.stack)}
    assert svcs, f"there is no stack {params.stack} (docker stack deploy -c docker-compose.yml {params.stack})"
    return svcs


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 manager 上执行 docker stack deploy -c docker-compose.yml wordpress",
                  en="On manager run docker stack deploy -c docker-compose.yml wordpress")
def test_dk42_stack_services(manager, params):
    """Stack wordpress has the services wordpress_db, wordpress_visualizer and wordpress_wordpress."""
    names = sorted(_stack(manager, params))
    want = sorted(f"{params.stack}_{s}" for s in ("db", "visualizer", "wordpress"))
    assert names == want, f"the stack's services are {names}, expected {want}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="stack 会创建 wordpress_overlay（overlay 驱动，swarm 范围）和 wordpress_default 网络",
                  en="The stack creates wordpress_overlay (driver overlay, scope swarm) and wordpress_default")
def test_dk42_stack_networks(manager, params):
    """Networks wordpress_overlay (overlay, swarm scope) and wordpress_default exist."""
    res = manager.run("docker network inspect -f %s %s %s", "{{.Name}} {{.Driver}} {{.Scope}}",
                      f"{params.stack}_overlay", f"{params.stack}_default")
    found = {line.split()[0]: line.split()[1:] for line in res.stdout.splitlines() if line.strip()}
    assert found.get(f"{params.stack}_overlay") == ["overlay", "swarm"], f"networks: {found or res.stderr.strip()}"
    assert f"{params.stack}_default" in found, f"{params.stack}_default is missing ({res.stderr.strip()})"


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker stack services wordpress 应显示 db 1/1、visualizer 1/1、wordpress 3/3",
                  en="docker stack services wordpress must show db 1/1, visualizer 1/1, wordpress 3/3")
def test_dk42_stack_converged(manager, params):
    """The stack converged: db 1/1, visualizer 1/1, wordpress 3/3 running."""
    svcs = _stack(manager, params)
    want = {"db": 1, "visualizer": 1, "wordpress": params.wordpress_replicas}
    seen = {s: len(state.running(state.tasks(manager, f"{params.stack}_{s}"))) if f"{params.stack}_{s}" in svcs else None
            for s in want}
    assert seen == want, f"running tasks per service: {seen}, expected {want}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="db 和 visualizer 有 placement 约束 node.role == manager，只能运行在 manager 上",
                  en="db and visualizer carry the placement constraint node.role == manager and run on manager only")
def test_dk42_placement(manager, params):
    """db and visualizer are constrained to node.role == manager and run on manager."""
    svcs = _stack(manager, params)
    names = _node_names(manager)
    for s in ("db", "visualizer"):
        svc = svcs.get(f"{params.stack}_{s}")
        assert svc is not None, f"there is no service {params.stack}_{s}"
        constraints = [c.replace(" ", "") for c in (svc["Placement"] or {}).get("Constraints") or []]
        assert "node.role==manager" in constraints, f"{s}: constraints {constraints}"
        nodes = sorted({names.get(t["NodeID"], t["NodeID"]) for t in state.running(state.tasks(manager, svc["Name"]))})
        assert nodes == ["manager"], f"{s} runs on {nodes or 'no node'}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="stack 的卷 db-data 在 manager 上名为 wordpress_db-data，挂载到 db 的 /var/lib/mysql",
                  en="The stack's volume db-data is wordpress_db-data on manager, mounted at /var/lib/mysql in db")
def test_dk42_db_volume(manager, params):
    """Volume wordpress_db-data exists on manager and the db task mounts it at /var/lib/mysql."""
    vol = f"{params.stack}_db-data"
    assert manager.run("docker volume inspect %s", vol).rc == 0, f"volume {vol} does not exist on manager"
    live = state.running(state.tasks(manager, f"{params.stack}_db"))
    assert live, "no db task runs"
    cid = live[0]["Status"]["ContainerStatus"]["ContainerID"]
    res = manager.run("docker inspect -f %s %s", "{{json .Mounts}}", cid)
    assert res.rc == 0, f"the db task's container is not on manager: {res.stderr.strip()}"
    mounts = {m["Destination"]: m for m in json.loads(res.stdout)}
    m = mounts.get("/var/lib/mysql")
    assert m and m.get("Type") == "volume" and m.get("Name") == vol, f"/var/lib/mysql is mounted from {m}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="visualizer 需要挂载 /var/run/docker.sock，浏览器访问 http://manager:8080/ 能看到各节点的任务",
                  en="The visualizer needs /var/run/docker.sock mounted; http://manager:8080/ shows the tasks of each node")
def test_dk42_visualizer(manager, params):
    """The visualizer page answers on http://manager:8080/ (fetched from the grader)."""
    res = http_get(f"http://{manager.address}:{params.visualizer_port}/")
    assert res.status == 200, f"visualizer: {res} {res.body[:200]!r}"


# --------------------------------------------------------------------------- publishing, DNS, overlay


def _wordpress_tasks(manager, params):
    live = state.running(state.tasks(manager, f"{params.stack}_wordpress"))
    assert live, f"no {params.stack}_wordpress task runs"
    return live


@pytest.mark.points(2)
@pytest.mark.hint(zh="没有 IPVS 时路由网格不可用：端口以 host 模式发布（ports: - target: 80 mode: host），每个任务在其节点上有自己的端口",
                  en="Without IPVS the routing mesh cannot work: publish in host mode (ports: - target: 80, mode: host); each task gets a port on its node")
def test_swarm_host_mode_publish(manager, hosts, params):
    """wordpress publishes port 80 in host mode; each task's node port serves the installer (from the grader)."""
    svc = _service(manager, f"{params.stack}_wordpress")
    ports = (svc["EndpointSpec"] or {}).get("Ports") or []
    assert ports and all(p.get("PublishMode") == "host" and p.get("TargetPort") == 80 for p in ports), \
        f"wordpress's ports are {ports}, expected target 80 in host mode"
    names = _node_names(manager)
    for t in _wordpress_tasks(manager, params):
        node = names.get(t["NodeID"], t["NodeID"])
        published = [p["PublishedPort"] for p in state.published_ports(t) if p.get("TargetPort") == 80]
        assert published, f"task {t['ID'][:12]} on {node} has no published port"
        assert node in hosts, f"task on unknown node {node}"
        res = http_get(f"http://{hosts[node].address}:{published[0]}/")
        assert _installer(res), f"task on {node}: {res} {res.body[:200]!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="db 使用 deploy.endpoint_mode: dnsrr：服务名直接解析为任务的 IP（没有 VIP）",
                  en="db uses deploy.endpoint_mode: dnsrr: its name resolves to the task IPs (no VIP)")
def test_swarm_dnsrr(manager, hosts, params):
    """db uses DNS round-robin: no VIP, and `db` resolves to the db task's overlay address (probe in a WordPress task)."""
    svc = _service(manager, f"{params.stack}_db")
    assert (svc["EndpointSpec"] or {}).get("Mode") == "dnsrr", f"db's endpoint mode is {(svc['EndpointSpec'] or {}).get('Mode', 'vip')}"
    assert not (svc["Endpoint"] or {}).get("VirtualIPs"), f"db has virtual IPs {(svc['Endpoint'] or {}).get('VirtualIPs')}"
    db_tasks = state.running(state.tasks(manager, svc["Name"]))
    assert db_tasks, "no db task runs"
    want = set(state.overlay_addresses(db_tasks[0], f"{params.stack}_overlay"))
    names = _node_names(manager)
    wp = _wordpress_tasks(manager, params)[0]
    node = hosts[names[wp["NodeID"]]]
    res = node.run("docker exec %s getent hosts db", wp["Status"]["ContainerStatus"]["ContainerID"])
    got = {line.split()[0] for line in res.stdout.splitlines() if line.strip()}
    assert got and got == want, f"`db` resolves to {sorted(got) or res.stderr.strip()} in a wordpress task, db's task is {sorted(want)}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="overlay 网络跨主机：运行在其他节点上的 wordpress 任务通过 wordpress_overlay 连接 manager 上的 db",
                  en="The overlay spans hosts: wordpress tasks on other nodes reach db on manager over wordpress_overlay")
def test_swarm_overlay_across_nodes(manager, hosts, params):
    """A WordPress task on another node than db's reaches db over wordpress_overlay (serves the installer)."""
    names = _node_names(manager)
    db_tasks = state.running(state.tasks(manager, f"{params.stack}_db"))
    assert db_tasks, "no db task runs"
    db_node = names.get(db_tasks[0]["NodeID"])
    remote = [t for t in _wordpress_tasks(manager, params) if names.get(t["NodeID"]) != db_node]
    assert remote, f"every wordpress task runs on {db_node}, next to db: nothing crosses the overlay"
    for t in remote:
        assert state.overlay_addresses(t, f"{params.stack}_overlay"), f"task {t['ID'][:12]} is not on {params.stack}_overlay"
        node = names.get(t["NodeID"], t["NodeID"])
        published = [p["PublishedPort"] for p in state.published_ports(t) if p.get("TargetPort") == 80]
        assert published and node in hosts, f"task {t['ID'][:12]} on {node} publishes {published}"
        res = http_get(f"http://{hosts[node].address}:{published[0]}/")
        assert _installer(res), f"wordpress on {node} did not reach db on {db_node}: {res} {res.body[:200]!r}"


@pytest.mark.requires("ipvs")
@pytest.mark.points(2)
@pytest.mark.hint(zh="默认的 endpoint_mode 是 vip：服务名解析为虚拟 IP，由 IPVS 负载均衡到各任务",
                  en="The default endpoint_mode is vip: the service name resolves to a virtual IP that IPVS balances over the tasks")
def test_swarm_vip(manager, hosts, params):
    """wordpress has a VIP on wordpress_overlay and `curl http://wordpress/` through it answers (probe in a task)."""
    svc = _service(manager, f"{params.stack}_wordpress")
    vips = [v["Addr"].split("/")[0] for v in (svc["Endpoint"] or {}).get("VirtualIPs") or []]
    assert vips, "wordpress has no virtual IP"
    names = _node_names(manager)
    wp = _wordpress_tasks(manager, params)[0]
    node = hosts[names[wp["NodeID"]]]
    cid = wp["Status"]["ContainerStatus"]["ContainerID"]
    res = node.run("docker exec %s getent hosts wordpress", cid)
    assert res.stdout.split()[:1] and res.stdout.split()[0] in vips, f"`wordpress` resolves to {res.stdout.strip()!r}, VIPs {vips}"
    code = node.run("docker exec %s curl -s -o /dev/null -w %s --max-time 10 http://wordpress/", cid, "%{http_code}")
    assert code.stdout.strip() in ("200", "302"), f"GET http://wordpress/ through the VIP: {code.stdout.strip() or code.stderr.strip()}"
