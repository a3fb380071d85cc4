"""Checks of the networking family (catalog DK12, DK29-DK31, DK33; B12; C27, C28, C30).

Containers are found as a trainer finds them: by the names the notes type (web01, db, test1,
test2, test, web7, redis-master, redis-slave1), otherwise by image, network mode and published
port (the notes run DK12's nginx, DK29's centos, DK30's webapps and DK33's centos without a name).

Read-only on the hosts (`docker inspect`, `ip`, `iptables -S`, `nsenter`, `docker exec` of
commands that change nothing); pings and fetches come from `docker run --rm --pull never` probes
on the host's own network stack or from the grader, as each check says."""

import ipaddress
import re

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import Want, docker, find_container, find_containers, port_bindings
from labs.common.docker import running as _running


def _ip(c, network=None):
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    if network:
        return (nets.get(network) or {}).get("IPAddress", "")
    return next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), "")


def _published(c, port):
    return ((c.get("NetworkSettings") or {}).get("Ports") or {}).get(port) or []


def _port_range(host):
    got = tuple(int(x) for x in host.run("cat /proc/sys/net/ipv4/ip_local_port_range").stdout.split() if x.isdigit())
    return got if len(got) == 2 else (32768, 60999)


def _nat(host, chain):
    res = host.run("iptables -t nat -S %s", chain)
    assert res.rc == 0, f"iptables -t nat -S {chain} on {host.name}: {res.stderr.strip()[:200]}"
    return res.stdout


def _name(c):
    return c["Name"].lstrip("/")


# --------------------------------------------------------------------------- DK12


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -p 81:80 nginx：宿主机 81 端口映射到容器 80 端口，浏览器访问 宿主机IP:81 看到 nginx 欢迎页",
                  en="docker run -d -p 81:80 nginx maps host port 81 to the container's port 80: http://<host IP>:81/ shows nginx's welcome page")
def test_dk12_port_81(docker01):
    """A running nginx container publishes 80/tcp on host port 81, and http://docker01:81/ (from the grader) is nginx's page."""
    c = find_container(docker01, Want(image="nginx", publishes="80/tcp", host_port=81))
    res = http_get(f"http://{docker01.address}:81/")
    assert res.status == 200 and "Welcome to nginx!" in res.body, \
        f"http://{docker01.address}:81/ (published by {_name(c)}) does not give nginx's page: {res}"


# --------------------------------------------------------------------------- DK29: manual veth


def _nonet(docker01):
    """DK29's container: a running centos run with --net=none (the notes do not name it)."""
    found = [c for c in find_containers(docker01, Want(image="centos"))
             if c["HostConfig"].get("NetworkMode") == "none"]
    assert found, "no running container of image centos runs with --net=none on docker01 (docker run -it --rm --net=none centos /bin/bash)"
    return found[-1]


@pytest.mark.points(2)
@pytest.mark.hint(zh="ip link add A type veth peer name B；brctl addif docker0 A（或 ip link set A master docker0）；ip link set A up",
                  en="ip link add A type veth peer name B; brctl addif docker0 A (or ip link set A master docker0); ip link set A up")
def test_dk29_host_side(docker01, params):
    """The host end A of the veth pair is up and a port of docker0 (a --net=none centos container runs)."""
    _nonet(docker01)
    link = docker01.run("ip -o link show %s", params.veth_host)
    assert link.rc == 0, f"no interface {params.veth_host} on docker01 (ip link add {params.veth_host} type veth peer name {params.veth_peer})"
    assert "master docker0" in link.stdout, f"{params.veth_host} is not on docker0 (brctl addif docker0 {params.veth_host}): {link.stdout.strip()[:200]}"
    assert re.search(r"[<,]UP[,>]", link.stdout), f"{params.veth_host} is down (ip link set {params.veth_host} up): {link.stdout.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="把 B 移入容器的网络命名空间并改名 eth0，配置 172.17.42.99/16 和默认路由（ip netns exec $pid ...）",
                  en="Move B into the container's network namespace, rename it eth0, give it 172.17.42.99/16 and a default route (ip netns exec $pid ...)")
def test_dk29_container_side(docker01, params):
    """In the --net=none container's network namespace eth0 has 172.17.42.99/16 and a default route via the bridge."""
    c = _nonet(docker01)
    pid = str(c["State"]["Pid"])
    addr = docker01.run("nsenter -t %s -n ip -4 addr show eth0", pid)
    assert f"inet {params.manual_ip}" in addr.stdout, \
        f"eth0 in {_name(c)}'s network namespace has no {params.manual_ip}: {(addr.stdout.strip() or addr.stderr.strip())[:200]}"
    route = docker01.run("nsenter -t %s -n ip route", pid).stdout
    gateways = {params.manual_gateway, str(ipaddress.ip_interface(params.docker0).ip)}
    assert any(f"default via {g}" in route for g in gateways), \
        f"no default route via {params.manual_gateway} in {_name(c)}'s network namespace: {route.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="配置完成后宿主机可以 ping 通 172.17.42.99（A 必须挂在 docker0 上并且是 up 状态）",
                  en="Once plumbed, the host can ping 172.17.42.99 (A must be up and on docker0)")
def test_dk29_host_reaches_container(docker01, params):
    """docker01 pings 172.17.42.99 (a --rm busybox probe on the host's network stack)."""
    _nonet(docker01)
    ip = str(ipaddress.ip_interface(params.manual_ip).ip)
    res = docker(docker01, "run --rm --pull never --net=host busybox ping -c 2 -W 2 %s", ip)
    assert res.rc == 0, f"docker01 cannot ping {ip}: {(res.stdout + res.stderr).strip()[-200:]}"


# --------------------------------------------------------------------------- DK30


def _webapps(docker01):
    return find_containers(docker01, Want(image="training/webapp"))


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -P training/webapp python app.py：5000/tcp 随机映射到 32768 以上的端口，docker port 查看",
                  en="docker run -d -P training/webapp python app.py maps 5000/tcp to a random port from 32768 up; see docker port")
def test_dk30_publish_all(docker01):
    """A training/webapp container run with -P maps 5000/tcp to a port of ip_local_port_range that answers (from the grader)."""
    found = [c for c in _webapps(docker01) if c["HostConfig"].get("PublishAllPorts") and _published(c, "5000/tcp")]
    assert found, "no running container of image training/webapp was run with -P (docker run -d -P training/webapp python app.py)"
    low, high = _port_range(docker01)
    seen = []
    for c in found:
        port = int(_published(c, "5000/tcp")[0]["HostPort"])
        res = http_get(f"http://{docker01.address}:{port}/")
        if low <= port <= high and res.status == 200:
            return
        seen.append(f"{_name(c)} on {port}: {res.status}")
    raise AssertionError(f"no -P webapp answers on a port in {low}-{high}: {', '.join(seen)}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs 容器 可以看到应用输出 Running on http://...:5000",
                  en="docker logs CONTAINER shows the application's Running on http://...:5000")
def test_dk30_logs(docker01):
    """docker logs of a running training/webapp container shows the app running on port 5000."""
    found = _webapps(docker01)
    assert found, "no running container of image training/webapp on docker01"
    for c in found:
        logs = docker(docker01, "logs %s 2>&1", c["Id"]).stdout
        if re.search(r"Running on http://\S+:5000", logs):
            return
    raise AssertionError(f"no training/webapp container's log says `Running on http://...:5000` ({', '.join(_name(c) for c in found)})")


def _loopback_webapp(docker01, params):
    port = str(params.webapp_port)
    found = [c for c in _webapps(docker01) if any(b.get("HostPort") == port for b in port_bindings(c, "5000/tcp"))]
    assert found, f"no running container of image training/webapp publishes 5000/tcp on host port {port}"
    return found[-1]


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p 127.0.0.1:5000:5000 只在本机回环地址监听：宿主机 curl 127.0.0.1:5000 可以访问，其他机器不行",
                  en="-p 127.0.0.1:5000:5000 listens on the loopback only: curl 127.0.0.1:5000 works on the host, other machines are refused")
def test_dk30_loopback_only(docker01, params):
    """The webapp on host port 5000 binds 127.0.0.1:5000: it answers on docker01's loopback and not on its address (from the grader)."""
    c = _loopback_webapp(docker01, params)
    port = str(params.webapp_port)
    assert port_bindings(c, "5000/tcp") == [{"HostIp": "127.0.0.1", "HostPort": port}], \
        f"{_name(c)} publishes 5000/tcp as {port_bindings(c, '5000/tcp')}, not on 127.0.0.1:{port} only"
    local = docker01.run("curl -s --max-time 5 http://127.0.0.1:%s/", port)
    assert local.rc == 0 and "Hello" in local.stdout, f"curl 127.0.0.1:{port} on docker01: {local.stdout[:100]!r}"
    remote = http_get(f"http://{docker01.address}:{port}/", timeout=3)
    assert remote.status is None, f"port {port} answers from outside: {remote}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="端口映射由 docker-proxy 监听或 iptables 的 DNAT 规则实现（ss -ltnp、iptables -t nat -S DOCKER）",
                  en="A published port is a docker-proxy listener or an iptables DNAT rule (ss -ltnp, iptables -t nat -S DOCKER)")
def test_dk30_proxy_or_dnat(docker01, params):
    """Host port 5000 of the webapp is held by docker-proxy or DNAT'ed in the nat table's DOCKER chain."""
    _loopback_webapp(docker01, params)
    port = str(params.webapp_port)
    ss = docker01.run("ss -ltnp").stdout
    proxy = any(f":{port} " in ln and "docker-proxy" in ln for ln in ss.splitlines())
    dnat = re.search(rf"--dport {port} -j DNAT", _nat(docker01, "DOCKER"))
    assert proxy or dnat, f"neither docker-proxy on :{port} nor a DNAT rule for it"


# --------------------------------------------------------------------------- DK31, B12: --link


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -P --name web01 --link db:db training/webapp python app.py：HostConfig.Links 为 [/db:/web01/db]",
                  en="docker run -d -P --name web01 --link db:db training/webapp python app.py gives HostConfig.Links [/db:/web01/db]")
def test_dk31_link_config(docker01):
    """web01 runs and links /db as /web01/db."""
    c = _running(docker01, "web01")
    assert c["HostConfig"].get("Links") == ["/db:/web01/db"], \
        f"web01's links are {c['HostConfig'].get('Links')}, expected [/db:/web01/db] (--link db:db)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="--link 会在 web01 的 /etc/hosts 写入 db 的 IP，并注入 DB_ 开头的环境变量",
                  en="--link writes db's IP into web01's /etc/hosts and injects DB_* environment variables")
def test_dk31_link_hosts_and_env(docker01):
    """web01's /etc/hosts maps db to db's IP, and its environment has DB_NAME, DB_PORT and DB_ENV_PG_VERSION."""
    db_ip = _ip(_running(docker01, "db"))
    _running(docker01, "web01")
    hosts = docker(docker01, "exec web01 cat /etc/hosts 2>&1").stdout
    assert db_ip and re.search(rf"^{re.escape(db_ip)}\s+db(\s|$)", hosts, re.M), \
        f"no `{db_ip} db` line in web01's /etc/hosts: {hosts[-300:]}"
    env = docker(docker01, "exec web01 env 2>&1").stdout.split()
    want = {"DB_NAME=/web01/db", f"DB_PORT=tcp://{db_ip}:5432", f"DB_PORT_5432_TCP_ADDR={db_ip}",
            "DB_PORT_5432_TCP_PORT=5432", "DB_PORT_5432_TCP_PROTO=tcp", "DB_ENV_PG_VERSION=9.3"}
    assert want <= set(env), f"web01's environment lacks {sorted(want - set(env))}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -it --name redis-slave1 --link redis-master:master redis /bin/bash：redis-slave1 通过别名 master 访问 redis-master（/etc/hosts 里有 master）",
                  en="docker run -it --name redis-slave1 --link redis-master:master redis /bin/bash: redis-slave1 reaches redis-master by the alias master (master is in its /etc/hosts)")
def test_b12_redis_link(docker01):
    """redis-slave1 runs, links /redis-master as master, and its /etc/hosts maps master to redis-master's IP."""
    master = _running(docker01, "redis-master")
    c = _running(docker01, "redis-slave1")
    assert c["HostConfig"].get("Links") == ["/redis-master:/redis-slave1/master"], \
        f"redis-slave1's links are {c['HostConfig'].get('Links')}, expected [/redis-master:/redis-slave1/master]"
    ip = _ip(master)
    hosts = docker(docker01, "exec redis-slave1 cat /etc/hosts 2>&1").stdout
    assert ip and re.search(rf"^{re.escape(ip)}\s+master(\s|$)", hosts, re.M), \
        f"no `{ip} master` line in redis-slave1's /etc/hosts: {hosts[-300:]}"


# --------------------------------------------------------------------------- C27, C28: bridge and NAT internals


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器 eth0 的 iflink 等于宿主机上某个 veth 的 ifindex，这个 veth 挂在 docker0（172.17.0.1/16）上；容器默认网关是 172.17.0.1",
                  en="The container's eth0 iflink equals the ifindex of one host veth, which is on docker0 (172.17.0.1/16); the container's default gateway is 172.17.0.1")
def test_c27_veth_pairing(docker01, params):
    """docker0 has 172.17.0.1/16; test1's eth0 pairs with exactly one veth on docker0, its default route is docker0, and it reaches test2 by IP."""
    addr = docker01.run("ip -4 -o addr show docker0").stdout
    assert f"inet {params.docker0}" in addr, f"docker0 on docker01: {addr.strip()[:200] or 'missing'}"
    _running(docker01, "test1")
    iflink = docker(docker01, "exec test1 cat /sys/class/net/eth0/iflink 2>&1").stdout.strip()
    assert iflink.isdigit(), f"test1's eth0 iflink: {iflink[:100]!r}"
    matches = docker01.run("grep -lx %s /sys/class/net/veth*/ifindex", iflink).stdout.split()
    assert len(matches) == 1, f"host veths with ifindex {iflink}: {matches}"
    veth = matches[0].split("/")[4]
    master = docker01.run("readlink /sys/class/net/%s/master", veth).stdout.strip()
    assert master.endswith("/docker0"), f"{veth} (test1's pair) is on {master or 'no bridge'}"
    gateway = str(ipaddress.ip_interface(params.docker0).ip)
    routes = docker(docker01, "exec test1 ip route 2>&1").stdout
    assert f"default via {gateway} dev eth0" in routes, f"test1's routes: {routes.strip()[:200]}"
    test2 = _ip(_running(docker01, "test2"))
    page = docker(docker01, "exec test1 wget -qO- http://%s/ 2>&1", test2).stdout
    assert "Welcome to nginx!" in page, f"test1 -> test2 ({test2}): {page[:200]!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p 8088:80 的实现：nat 表 PREROUTING 把本机地址的流量交给 DOCKER 链，DOCKER 链 DNAT 到容器，POSTROUTING 对 172.17.0.0/16 做 MASQUERADE",
                  en="-p 8088:80 is nat PREROUTING (local addresses) -> DOCKER chain DNAT to the container, and POSTROUTING MASQUERADE for 172.17.0.0/16")
def test_c28_nat_rules(docker01, params):
    """test answers on :8088 (from the grader); PREROUTING, DOCKER DNAT, MASQUERADE, local route and ip_forward are in place."""
    test_ip = _ip(_running(docker01, "test"))
    res = http_get(f"http://{docker01.address}:{params.nat_port}/")
    assert res.status == 200, f"http://{docker01.address}:{params.nat_port}/ gives no page: {res}"
    assert re.search(r"-m addrtype --dst-type LOCAL -j DOCKER", _nat(docker01, "PREROUTING")), "no PREROUTING rule to DOCKER"
    dnat = [ln for ln in _nat(docker01, "DOCKER").splitlines() if f"--dport {params.nat_port} " in ln]
    assert any("! -i docker0" in ln and f"-j DNAT --to-destination {test_ip}:80" in ln for ln in dnat), \
        f"no DNAT of port {params.nat_port} to test ({test_ip}:80): {dnat}"
    subnet = str(ipaddress.ip_interface(params.docker0).network)
    assert f"-A POSTROUTING -s {subnet} ! -o docker0 -j MASQUERADE" in _nat(docker01, "POSTROUTING"), \
        f"no MASQUERADE of {subnet} in POSTROUTING"
    gateway = str(ipaddress.ip_interface(params.docker0).ip)
    assert f"local {gateway} dev docker0" in docker01.run("ip route show table local type local").stdout, \
        f"{gateway} is not a local address of docker0"
    forward = docker01.run("sysctl -n net.ipv4.ip_forward").stdout.strip()
    assert forward == "1", f"net.ipv4.ip_forward is {forward!r}"


# --------------------------------------------------------------------------- C30: host mode


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -it --name web7 --network host nginx：容器直接使用宿主机的网络栈，容器里看到的网卡和 IP 就是宿主机的",
                  en="docker run -d -it --name web7 --network host nginx: the container uses the host's network stack and sees the host's interfaces and IP")
def test_c30_host_mode(docker01):
    """web7 runs with --network host: the host's network namespace, its interfaces (docker0) and its nginx on host port 80."""
    c = _running(docker01, "web7")
    assert c["HostConfig"].get("NetworkMode") == "host", f"web7's network mode is {c['HostConfig'].get('NetworkMode')!r}, not host"
    mine = docker01.run("readlink /proc/%s/ns/net", str(c["State"]["Pid"])).stdout.strip()
    assert mine and mine == docker01.run("readlink /proc/1/ns/net").stdout.strip(), "web7 is not in the host's network namespace"
    dev = docker(docker01, "exec web7 cat /proc/net/dev 2>&1").stdout
    assert re.search(r"^\s*docker0:", dev, re.M), f"web7 does not see the host's docker0: {dev[:200]!r}"
    page = docker01.run("curl -s --max-time 5 http://127.0.0.1:80/").stdout
    assert "Welcome to nginx!" in page, f"nothing answers on docker01's port 80 (web7's nginx): {page[:100]!r}"


# --------------------------------------------------------------------------- DK33: custom bridge (docker02)


@pytest.mark.points(2)
@pytest.mark.hint(zh="停掉 docker，删除 docker0（ip link set docker0 down; brctl delbr docker0），创建 bridge0 并配置 192.168.5.1/24，ip link set dev bridge0 up",
                  en="Stop docker, delete docker0 (ip link set docker0 down; brctl delbr docker0), create bridge0 with 192.168.5.1/24 and bring it up")
def test_dk33_bridge0(docker02, params):
    """On docker02, bridge0 is a bridge, up, with 192.168.5.1/24."""
    link = docker02.run("ip -d -o link show %s", params.custom_bridge)
    assert link.rc == 0, f"no interface {params.custom_bridge} on docker02 (brctl addbr {params.custom_bridge})"
    assert " bridge " in link.stdout, f"{params.custom_bridge} is not a bridge: {link.stdout.strip()[:200]}"
    assert re.search(r"[<,]UP[,>]", link.stdout), f"{params.custom_bridge} is down (ip link set dev {params.custom_bridge} up)"
    addr = docker02.run("ip -4 -o addr show %s", params.custom_bridge).stdout
    assert f"inet {params.custom_cidr}" in addr, f"{params.custom_bridge} has no {params.custom_cidr}: {addr.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="daemon.json 加入 \"bridge\": \"bridge0\"（保留其他键）并重启 docker；默认 bridge 网络就用 bridge0 的子网",
                  en="Add \"bridge\": \"bridge0\" to daemon.json (keep the other keys) and restart docker; the default bridge network then uses bridge0's subnet")
def test_dk33_daemon_uses_bridge0(docker02, params):
    """daemon.json has "bridge": "bridge0" and the running daemon's `bridge` network is bridge0, 192.168.5.0/24, gateway 192.168.5.1."""
    import json

    cfg = docker02.run("cat %s", params.daemon_json)
    assert cfg.rc == 0, f"{params.daemon_json} does not exist on docker02"
    try:
        data = json.loads(cfg.stdout)
    except ValueError:
        raise AssertionError(f"{params.daemon_json} on docker02 is not valid JSON: {cfg.stdout.strip()[:200]}") from None
    assert isinstance(data, dict) and data.get("bridge") == params.custom_bridge, \
        f"daemon.json on docker02 has no \"bridge\": \"{params.custom_bridge}\": {cfg.stdout.strip()[:200]}"
    res = docker(docker02, "network inspect bridge")
    assert res.rc == 0, f"docker network inspect bridge on docker02: {res.stderr.strip()[:200]}"
    net = json.loads(res.stdout)[0]
    iface = ipaddress.ip_interface(params.custom_cidr)
    name = (net.get("Options") or {}).get("com.docker.network.bridge.name")
    assert name == params.custom_bridge, f"the running daemon's bridge network is {name}, not {params.custom_bridge}: restart docker"
    ipam = ((net.get("IPAM") or {}).get("Config") or [{}])[0]
    assert ipam.get("Subnet") == str(iface.network) and ipam.get("Gateway") in (str(iface.ip), None, ""), \
        f"the bridge network's IPAM is {ipam}, expected {iface.network}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="重启 docker 后新容器（docker run -it centos bash）的 IP 在 192.168.5.0/24，它的 veth 挂在 bridge0 上",
                  en="After the restart, a new container (docker run -it centos bash) gets 192.168.5.x/24 and its veth is on bridge0")
def test_dk33_containers_on_bridge0(docker02, params):
    """A running centos container on docker02 has an address in 192.168.5.0/24, and bridge0 has a veth port."""
    network = ipaddress.ip_interface(params.custom_cidr).network
    found = find_containers(docker02, Want(image="centos"))
    assert found, "no running container of image centos on docker02 (docker run -it centos bash after the restart)"
    ips = {_name(c): _ip(c) for c in found}
    assert any(ip and ipaddress.ip_address(ip) in network for ip in ips.values()), \
        f"no running centos container on docker02 has an address in {network}: {ips}"
    links = docker02.run("ip -o link show master %s", params.custom_bridge).stdout
    assert re.search(r"^\d+: veth", links, re.M), f"no veth on {params.custom_bridge}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker 会为 bridge0 的子网添加 MASQUERADE 规则：-s 192.168.5.0/24 ! -o bridge0 -j MASQUERADE",
                  en="docker adds a MASQUERADE rule for bridge0's subnet: -s 192.168.5.0/24 ! -o bridge0 -j MASQUERADE")
def test_dk33_masquerade(docker02, params):
    """docker02's nat POSTROUTING masquerades 192.168.5.0/24 leaving through anything but bridge0."""
    subnet = str(ipaddress.ip_interface(params.custom_cidr).network)
    rule = f"-A POSTROUTING -s {subnet} ! -o {params.custom_bridge} -j MASQUERADE"
    assert rule in _nat(docker02, "POSTROUTING"), f"no `{rule}` on docker02: the daemon does not use {params.custom_bridge}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="容器通过 bridge0 和 NAT 访问外部（离线实验里 ping 另一台实验主机代替 ping baidu.com）",
                  en="Containers reach the outside through bridge0 and NAT (offline, ping another lab host instead of baidu.com)")
def test_dk33_outbound(docker02, docker01, params):
    """A --rm busybox probe on docker02 gets a bridge0 address and pings docker01 through NAT."""
    res = docker(docker02, "run --rm --pull never busybox sh -c %s 2>&1",
                 f"ip -4 -o addr show eth0 && ping -c 2 -W 2 {docker01.address}")
    addr = re.search(r"inet (\S+)", res.stdout)
    network = ipaddress.ip_interface(params.custom_cidr).network
    assert addr and ipaddress.ip_interface(addr[1]).ip in network, \
        f"a new container on docker02 is not on {network}: {res.stdout.strip()[:200]}"
    assert res.rc == 0, f"ping {docker01.address} from a container on docker02: {res.stdout.strip()[-200:]}"
