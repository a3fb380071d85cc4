"""Checks of the swarm lab (catalog docker.md DK39-DK42).

What the notes leave on the three nodes: a swarm (manager + two workers), DK41's nginx service
removed again (`docker service rm nginx`), and the `wordpress` stack of the notes' compose file.
Read-only on the nodes: `docker info`, `docker node/service/network/volume inspect` through
templates that print only the fields a check needs (no task environment, no join token), and
one page fetched inside the visualizer's own task. The routing mesh (ingress ports 80 and 8080)
and the services' VIPs need IPVS in the node's kernel: those checks are SKIP where it is missing.
DK40/DK41's service itself is gone at the end of the notes, so only its removal is graded.
"""

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import docker
from labs.swarm import state

WORKERS = ("worker1", "worker2")


def _manager_info(manager):
    info = state.swarm_info(manager)
    assert info.get("LocalNodeState") == "active" and info.get("ControlAvailable") is True, \
        f"manager is not a swarm manager (LocalNodeState={info.get('LocalNodeState')!r}): docker swarm init on manager"
    return info


def _stack(manager, params):
    _manager_info(manager)
    svcs = {s["Name"]: s for s in state.services(manager, params.stack)}
    assert svcs, f"there is no stack {params.stack} (docker stack deploy -c docker-compose.yml {params.stack} on manager)"
    return svcs


def _service(svcs, name):
    assert name in svcs, f"the stack has no service {name} (services: {sorted(svcs)})"
    return svcs[name]


def _image(ref):
    """`wordpress` and `wordpress:latest@sha256:...` are one image name."""
    ref = (ref or "").split("@")[0]
    return ref if ":" in ref.rsplit("/", 1)[-1] else ref + ":latest"


def _ports(svc):
    return sorted((p.get("PublishedPort"), p.get("TargetPort")) for p in (svc["EndpointSpec"] or {}).get("Ports") or [])


def _installer(res):
    """True when a response is the WordPress installer (the database was reachable)."""
    return res.status == 200 and "install" in res.body and "Error establishing a database connection" not in res.body


# --------------------------------------------------------------------------- DK39


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 manager 上执行 docker swarm init --advertise-addr <manager的IP>，它就成为管理节点",
                  en="Run docker swarm init --advertise-addr <manager's IP> on manager; it becomes a manager node")
def test_dk39_manager_initialised(manager):
    """manager is an active swarm manager advertising one of its own addresses."""
    info = _manager_info(manager)
    own = manager.run("hostname -I").stdout.split() + [manager.address]
    assert info.get("NodeAddr") in own, \
        f"manager advertises {info.get('NodeAddr')!r}, not one of its addresses {own} (--advertise-addr)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 worker1 和 worker2 上分别执行 docker swarm join --token <worker令牌> <manager的IP>:2377（注意 worker2 的加入要在 worker2 上执行）",
                  en="On worker1 and on worker2 run docker swarm join --token <worker token> <manager IP>:2377 (worker2's join must run on worker2)")
def test_dk39_workers_joined(manager, worker1, worker2, params):
    """worker1 and worker2 joined the swarm as workers of the manager."""
    mine = state.swarm_info(manager)
    want = f"{mine.get('NodeAddr')}:{params.swarm_port}" if mine.get("ControlAvailable") else None
    for w in (worker1, worker2):
        info = state.swarm_info(w)
        assert info.get("LocalNodeState") == "active", f"{w.name} is not in a swarm (LocalNodeState={info.get('LocalNodeState')!r})"
        assert info.get("ControlAvailable") is False, f"{w.name} joined as a manager, not as a worker"
        remotes = [r.get("Addr") for r in info.get("RemoteManagers") or []]
        assert want in remotes, f"{w.name}'s managers are {remotes}, not manager ({want or 'manager is no swarm manager'})"


@pytest.mark.points(4)
@pytest.mark.hint(zh="docker node ls 应列出 manager、worker1、worker2 三个节点，状态都是 Ready，manager 是 Leader",
                  en="docker node ls must list manager, worker1 and worker2, all Ready, with manager as the Leader")
def test_dk39_node_ls(manager):
    """`docker node ls`: manager (Leader), worker1 and worker2, all Ready and Active; one manager, two workers."""
    _manager_info(manager)
    nodes = state.nodes(manager)
    seen = {n["Hostname"]: n for n in nodes}
    assert sorted(seen) == ["manager", *WORKERS] and len(nodes) == 3, \
        f"docker node ls on manager lists {sorted(n['Hostname'] for n in nodes)}, expected manager, worker1, worker2"
    not_ready = {h: (n["State"], n["Availability"]) for h, n in seen.items() if (n["State"], n["Availability"]) != ("ready", "active")}
    assert not not_ready, f"nodes not Ready and Active: {not_ready}"
    leaders = [h for h, n in seen.items() if n["Leader"]]
    assert leaders == ["manager"], f"leader(s): {leaders}, expected manager"
    roles = {h: n["Role"] for h, n in seen.items()}
    assert roles == {"manager": "manager", "worker1": "worker", "worker2": "worker"}, f"roles: {roles}"


# --------------------------------------------------------------------------- DK40 / DK41


@pytest.mark.points(1)
@pytest.mark.hint(zh="服务伸缩之后用 docker service rm nginx 删除服务（它的任务容器也随之从各节点删除）",
                  en="After scaling, docker service rm nginx removes the service (and its task containers on every node)")
def test_dk41_nginx_removed(manager, worker1, worker2, params):
    """DK41 ends with `docker service rm nginx`: no service nginx, and no nginx task container on any node."""
    _manager_info(manager)
    svc = state.service(manager, params.service)
    assert svc is None, f"service {params.service} still exists ({svc and svc['Image']}): docker service rm {params.service}"
    for h in (manager, worker1, worker2):
        res = docker(h, "ps -aq --filter %s", f"label=com.docker.swarm.service.name={params.service}")
        assert not res.stdout.split(), f"{h.name} still has {len(res.stdout.split())} container(s) of service {params.service}"


# --------------------------------------------------------------------------- DK42


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 manager 上用课程的 docker-compose.yml 执行 docker stack deploy -c docker-compose.yml wordpress",
                  en="On manager, docker stack deploy -c docker-compose.yml wordpress with the course's compose file")
def test_dk42_stack_services(manager, params):
    """Stack wordpress: wordpress (3 replicas, 80:80), db (mysql), visualizer (dockersamples/visualizer:stable, 8080:8080)."""
    svcs = _stack(manager, params)
    want = {"wordpress": ("wordpress:latest", [(80, 80)]), "db": ("mysql:latest", []),
            "visualizer": ("dockersamples/visualizer:stable", [(8080, 8080)])}
    for s, (image, ports) in want.items():
        svc = _service(svcs, f"{params.stack}_{s}")
        assert _image(svc["Image"]) == image, f"{svc['Name']} runs {svc['Image']}, expected {image}"
        assert _ports(svc) == ports, f"{svc['Name']} publishes (published, target) {_ports(svc)}, expected {ports}"
    replicas = ((svcs[f"{params.stack}_wordpress"]["Mode"] or {}).get("Replicated") or {}).get("Replicas")
    assert replicas == params.wordpress_replicas, f"{params.stack}_wordpress has {replicas} replicas, expected {params.wordpress_replicas}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="stack 会创建 wordpress_overlay（overlay 驱动，swarm 范围）和 wordpress_default 网络",
                  en="The stack creates wordpress_overlay (driver overlay, scope swarm) and wordpress_default")
def test_dk42_stack_networks(manager, params):
    """Networks wordpress_overlay (overlay, swarm scope) and wordpress_default exist on manager."""
    found = {}
    for net in (f"{params.stack}_overlay", f"{params.stack}_default"):
        res = docker(manager, "network inspect -f %s %s", "{{.Driver}} {{.Scope}}", net)
        found[net] = res.stdout.split() if res.rc == 0 else None
    assert found[f"{params.stack}_overlay"] == ["overlay", "swarm"], f"networks (driver, scope): {found}"
    assert found[f"{params.stack}_default"] is not None, f"there is no network {params.stack}_default: {found}"


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker service ls 应显示 wordpress_db 1/1、wordpress_visualizer 1/1、wordpress_wordpress 3/3",
                  en="docker service ls must show wordpress_db 1/1, wordpress_visualizer 1/1, wordpress_wordpress 3/3")
def test_dk42_stack_converged(manager, params):
    """The stack converged: db 1/1, visualizer 1/1, wordpress 3/3 tasks running."""
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
    names = state.hostnames(manager)
    for s in ("db", "visualizer"):
        svc = _service(svcs, f"{params.stack}_{s}")
        constraints = [c.replace(" ", "") for c in (svc["Placement"] or {}).get("Constraints") or []]
        assert "node.role==manager" in constraints, f"{svc['Name']}'s placement constraints are {constraints}"
        nodes = sorted({names.get(t["NodeID"], t["NodeID"]) for t in state.running(state.tasks(manager, svc["Name"]))})
        assert nodes == ["manager"], f"{svc['Name']} runs on {nodes or 'no node'}, expected manager"


@pytest.mark.points(1)
@pytest.mark.hint(zh="stack 的卷 db-data 在 manager 上名为 wordpress_db-data，挂载到 db 的 /var/lib/mysql",
                  en="The stack's volume db-data is wordpress_db-data on manager, mounted at /var/lib/mysql in db")
def test_dk42_db_volume(manager, hosts, params):
    """The db task mounts the volume wordpress_db-data at /var/lib/mysql (on its node, the manager)."""
    _stack(manager, params)
    vol = f"{params.stack}_db-data"
    live = state.running(state.tasks(manager, f"{params.stack}_db"))
    assert live, f"no {params.stack}_db task runs"
    node = state.hostnames(manager).get(live[0]["NodeID"], "")
    assert node in hosts, f"the db task runs on {node or 'an unknown node'}"
    cid = live[0]["Status"]["ContainerStatus"]["ContainerID"]
    res = docker(hosts[node], "inspect -f %s %s", '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{println}}{{end}}', cid)
    mounts = {line.split()[-1]: line.split()[:-1] for line in res.stdout.splitlines() if line.strip()}
    assert mounts.get("/var/lib/mysql") == ["volume", vol], \
        f"db's /var/lib/mysql is mounted from {mounts.get('/var/lib/mysql')}, expected volume {vol}"


def _visualizer(manager, hosts, params):
    svcs = _stack(manager, params)
    return _service(svcs, f"{params.stack}_visualizer")


@pytest.mark.points(1)
@pytest.mark.hint(zh="visualizer 需要挂载 /var/run/docker.sock 才能读取集群信息（volumes: - \"/var/run/docker.sock:/var/run/docker.sock\"）",
                  en="The visualizer needs /var/run/docker.sock mounted to read the swarm (volumes: - \"/var/run/docker.sock:/var/run/docker.sock\")")
def test_dk42_visualizer(manager, hosts, params):
    """The visualizer mounts /var/run/docker.sock and its task serves the page of the swarm's nodes (read inside the task)."""
    svc = _visualizer(manager, hosts, params)
    socks = [m for m in svc["Mounts"] or [] if m.get("Target") == "/var/run/docker.sock"]
    assert socks and socks[0].get("Source") == "/var/run/docker.sock", \
        f"{svc['Name']} does not mount /var/run/docker.sock (mounts: {[(m.get('Source'), m.get('Target')) for m in svc['Mounts'] or []]})"
    live = state.running(state.tasks(manager, svc["Name"]))
    assert live, f"no {svc['Name']} task runs"
    node = state.hostnames(manager).get(live[0]["NodeID"], "")
    assert node in hosts, f"the visualizer task runs on {node or 'an unknown node'}"
    cid = live[0]["Status"]["ContainerStatus"]["ContainerID"]
    page = docker(hosts[node], "exec %s sh -c %s", cid,
                  "wget -qO- http://127.0.0.1:8080/ 2>/dev/null || curl -s http://127.0.0.1:8080/")
    assert page.rc == 0 and "manager" in page.stdout and "worker1" in page.stdout, \
        f"the visualizer's page (inside its task) does not show the nodes: {page.stdout.strip()[:200] or page.stderr.strip()[:200]}"


@pytest.mark.requires("ipvs")
@pytest.mark.points(1)
@pytest.mark.hint(zh="浏览器访问 http://manager:8080/ 能看到各节点上运行的任务（经由路由网格）",
                  en="http://manager:8080/ shows the tasks of each node (through the routing mesh)")
def test_dk42_visualizer_page(manager, params):
    """The visualizer page answers on http://manager:8080/ (fetched from the grader, through the routing mesh)."""
    res = http_get(f"http://{manager.address}:{params.visualizer_port}/")
    assert res.status == 200 and "worker1" in res.body, f"http://manager:{params.visualizer_port}/: {res.status or res.error} {res.body[:200]!r}"


@pytest.mark.requires("ipvs")
@pytest.mark.points(3)
@pytest.mark.hint(zh="路由网格让每个节点的 80 端口都能访问 WordPress；WordPress 通过 overlay 网络上的 db 服务（VIP）连接数据库",
                  en="The routing mesh serves WordPress on port 80 of every node; WordPress reaches the db service (its VIP) over the overlay")
def test_dk42_wordpress_installer(manager, worker1, worker2, params):
    """http://<each node>:80/ leads to the WordPress installer (routing mesh, and db reached through its VIP)."""
    for h in (manager, worker1, worker2):
        res = http_get(f"http://{h.address}:80/")
        assert _installer(res), f"http://{h.name}:80/ is not the WordPress installer: {res.status or res.error} {res.body[:200]!r}"
