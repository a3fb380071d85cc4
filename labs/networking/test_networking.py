"""Checks of the networking family (catalog DK12, DK28-DK33, A06, B09-B12, C10, C13, C26-C28, C30).

Read-only on the hosts (`docker inspect`, `ip`, `iptables -S`, `nsenter`, `docker exec` of
commands that change nothing); pings and fetches come from `docker run --rm --pull never` probes
on the host's own network stack or from the grader, as each check says."""

import ipaddress
import json
import re

import pytest

from harness.probes import http_get
from labs.common.docker import running as _running


def _ip(c, network=None):
    nets = c["NetworkSettings"]["Networks"] or {}
    if network:
        return (nets.get(network) or {}).get("IPAddress", "")
    return next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), "")


def _netns(host, pid):
    return host.run("readlink /proc/%s/ns/net", str(pid)).stdout.strip()


def _bindings(c, port):
    return (c["HostConfig"].get("PortBindings") or {}).get(port) or []


def _published(c, port):
    return (c["NetworkSettings"]["Ports"] or {}).get(port) or []


def _port_range(host):
    return tuple(int(x) for x in host.run("cat /proc/sys/net/ipv4/ip_local_port_range").stdout.split())


def _nat(host, chain):
    res = host.run("iptables -t nat -S %s", chain)
    assert res.rc == 0, f"iptables -t nat -S {chain}: {res.stderr.strip()[:200]}"
    return res.stdout


# --------------------------------------------------------------------------- DK28 / C30: modes


@pytest.mark.points(1)
@pytest.mark.hint(zh="默认网桥 docker0 的地址是 172.17.0.1/16，docker network inspect bridge 可以看到子网和网桥名",
                  en="The default bridge docker0 has 172.17.0.1/16; docker network inspect bridge shows the subnet and the bridge name")
def test_dk28_docker0(docker01, params):
    """With DK28's containers running, docker0 holds 172.17.0.1/16 and the `bridge` network is docker0, 172.17.0.0/16."""
    _running(docker01, "netbase")
    addr = docker01.run("ip -4 -o addr show docker0").stdout
    assert f"inet {params.docker0}" in addr, f"docker0: {addr.strip() or 'missing'}"
    net = json.loads(docker01.run("docker network inspect bridge").stdout)[0]
    subnet = str(ipaddress.ip_interface(params.docker0).network)
    assert net["IPAM"]["Config"][0]["Subnet"] == subnet, net["IPAM"]["Config"]
    assert net["Options"].get("com.docker.network.bridge.name") == "docker0", net["Options"]


@pytest.mark.points(1)
@pytest.mark.hint(zh="bridge 模式：容器的 eth0 和宿主机上的 veth 是一对，veth 挂在 docker0 上",
                  en="Bridge mode: the container's eth0 pairs with a veth on the host, and the veth is on docker0")
def test_dk28_bridge_veth(docker01):
    """netbase runs on the default bridge with an eth0, and docker0 has veth ports."""
    c = _running(docker01, "netbase")
    assert _ip(c, "bridge"), f"netbase is not on the default bridge: {list(c['NetworkSettings']['Networks'])}"
    links = docker01.run("ip -o link show master docker0").stdout
    assert re.search(r"^\d+: veth", links, re.M), f"no veth on docker0: {links.strip()[:300]}"
    assert "eth0" in docker01.run("docker exec netbase ip -o link 2>&1").stdout


@pytest.mark.points(1)
@pytest.mark.hint(zh="--net=container:netbase：新容器加入 netbase 的网络命名空间，IP 相同",
                  en="--net=container:netbase puts the new container into netbase's network namespace: same IP")
def test_dk28_container_mode(docker01):
    """netcont uses container:<netbase>, shares its network namespace and shows netbase's IP on eth0."""
    base, cont = _running(docker01, "netbase"), _running(docker01, "netcont")
    assert cont["HostConfig"]["NetworkMode"] == f"container:{base['Id']}", cont["HostConfig"]["NetworkMode"]
    assert _netns(docker01, cont["State"]["Pid"]) == _netns(docker01, base["State"]["Pid"]), "different network namespaces"
    addr = docker01.run("docker exec netcont ip -4 addr show eth0 2>&1").stdout
    assert _ip(base) in addr, f"netcont's eth0: {addr.strip()[:200]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="--net=host：容器直接使用宿主机的网络栈，能看到宿主机的 IP",
                  en="--net=host: the container uses the host's network stack and sees the host's IP")
def test_dk28_host_mode(docker01):
    """nethost uses the host network: the host's network namespace and address."""
    c = _running(docker01, "nethost")
    assert c["HostConfig"]["NetworkMode"] == "host", c["HostConfig"]["NetworkMode"]
    assert _netns(docker01, c["State"]["Pid"]) == _netns(docker01, 1), "nethost is not in the host's network namespace"
    assert docker01.address in docker01.run("docker exec nethost ip -4 addr 2>&1").stdout, "the host's address is not visible"


@pytest.mark.points(1)
@pytest.mark.hint(zh="--net=none：容器只有 lo 回环接口，没有网络配置",
                  en="--net=none: the container has only the loopback interface lo")
def test_dk28_none_mode(docker01):
    """netnone uses --net=none and has no interface but lo."""
    c = _running(docker01, "netnone")
    assert c["HostConfig"]["NetworkMode"] == "none", c["HostConfig"]["NetworkMode"]
    links = re.findall(r"^\d+: ([^:@]+)", docker01.run("docker exec netnone ip -o link 2>&1").stdout, re.M)
    assert links == ["lo"], f"interfaces: {links}"


# --------------------------------------------------------------------------- DK29: manual veth


def _nonet_pid(docker01):
    c = _running(docker01, "nonet")
    assert c["HostConfig"]["NetworkMode"] == "none", f"nonet's network mode is {c['HostConfig']['NetworkMode']}"
    return c["State"]["Pid"]


@pytest.mark.points(2)
@pytest.mark.hint(zh="ip link add A type veth peer name B；brctl addif docker0 A（或 ip link set A master docker0）；ip link set A up",
                  en="ip link add A type veth peer name B; brctl addif docker0 A (or ip link set A master docker0); ip link set A up")
def test_dk29_host_side(docker01, params):
    """The host end A of the veth pair is up and a port of docker0 (nonet runs with --net=none)."""
    _nonet_pid(docker01)
    link = docker01.run("ip -o link show %s", params.veth_host)
    assert link.rc == 0, f"no interface {params.veth_host} on docker01"
    assert "master docker0" in link.stdout, f"{params.veth_host} is not on docker0: {link.stdout.strip()}"
    assert re.search(r"[<,]UP[,>]", link.stdout), f"{params.veth_host} is down: {link.stdout.strip()}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="把 B 移入容器的网络命名空间并改名 eth0，配置 172.17.42.99/16 和默认路由（ip netns exec $pid ...）",
                  en="Move B into the container's network namespace, rename it eth0, give it 172.17.42.99/16 and a default route (ip netns exec $pid ...)")
def test_dk29_container_side(docker01, params):
    """In nonet's network namespace eth0 has 172.17.42.99/16 and a default route via the bridge."""
    pid = str(_nonet_pid(docker01))
    addr = docker01.run("nsenter -t %s -n ip -4 addr show eth0", pid)
    assert f"inet {params.manual_ip}" in addr.stdout, f"eth0 in nonet: {addr.stdout.strip() or addr.stderr.strip()}"
    route = docker01.run("nsenter -t %s -n ip route", pid).stdout
    gateways = {params.manual_gateway, str(ipaddress.ip_interface(params.docker0).ip)}
    assert any(f"default via {g}" in route for g in gateways), f"routes in nonet: {route.strip()}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="配置完成后宿主机可以 ping 通 172.17.42.99（A 必须挂在 docker0 上并且是 up 状态）",
                  en="Once plumbed, the host can ping 172.17.42.99 (A must be up and on docker0)")
def test_dk29_host_reaches_container(docker01, params):
    """docker01 pings 172.17.42.99 (a --rm busybox probe on the host's network stack)."""
    _nonet_pid(docker01)
    ip = str(ipaddress.ip_interface(params.manual_ip).ip)
    res = docker01.run("docker run --rm --pull never --net=host busybox ping -c 2 -W 2 %s", ip)
    assert res.rc == 0, f"ping {ip}: {res.stdout.strip()[-200:]}"


# --------------------------------------------------------------------------- DK12 / C10 / B09: -p forms


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p 81:80 映射所有地址的 81；-p IP:8080:80 只绑定指定 IP",
                  en="-p 81:80 publishes port 81 on every address; -p IP:8080:80 binds one host IP only")
def test_dk12_fixed_ports(docker01):
    """pm_81 serves nginx on :81; pm_ipport binds docker01's IP:8080 only (both fetched from the grader)."""
    c81 = _running(docker01, "pm_81")
    assert any(b.get("HostPort") == "81" for b in _bindings(c81, "80/tcp")), _bindings(c81, "80/tcp")
    res = http_get(f"http://{docker01.address}:81/")
    assert res.status == 200 and "Welcome to nginx!" in res.body, str(res)
    cip = _running(docker01, "pm_ipport")
    assert _bindings(cip, "80/tcp") == [{"HostIp": docker01.address, "HostPort": "8080"}], _bindings(cip, "80/tcp")
    assert http_get(f"http://{docker01.address}:8080/").status == 200


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p IP::80 随机分配宿主机端口；-p 8081:80/tcp 协议用斜杠；-p 82:80 -p 443:443 同时映射多个端口",
                  en="-p IP::80 picks a random host port; -p 8081:80/tcp gives the protocol after a slash; -p 82:80 -p 443:443 publishes several")
def test_dk12_random_proto_multi(docker01):
    """pm_iprand got a random port on docker01's IP; pm_proto maps 8081 to 80/tcp; pm_multi publishes 80/tcp and 443/tcp."""
    rand = _running(docker01, "pm_iprand")
    assert _bindings(rand, "80/tcp") == [{"HostIp": docker01.address, "HostPort": ""}], _bindings(rand, "80/tcp")
    got = _published(rand, "80/tcp")
    low, high = _port_range(docker01)
    assert got and got[0]["HostIp"] == docker01.address and low <= int(got[0]["HostPort"]) <= high, got
    proto = _running(docker01, "pm_proto")
    assert [b["HostPort"] for b in _bindings(proto, "80/tcp")] == ["8081"], proto["HostConfig"]["PortBindings"]
    multi = _running(docker01, "pm_multi")
    assert _bindings(multi, "80/tcp") and _bindings(multi, "443/tcp"), multi["HostConfig"]["PortBindings"]


# --------------------------------------------------------------------------- DK30


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -P training/webapp python app.py：5000/tcp 随机映射到 32768 以上的端口，docker port 查看",
                  en="docker run -d -P training/webapp python app.py maps 5000/tcp to a random port from 32768 up; see docker port")
def test_dk30_publish_all(docker01):
    """dk30-random (-P) maps 5000/tcp to a port of ip_local_port_range that answers (from the grader)."""
    c = _running(docker01, "dk30-random")
    assert c["HostConfig"]["PublishAllPorts"], "dk30-random was not run with -P"
    got = _published(c, "5000/tcp")
    assert got, "5000/tcp is not published"
    port = int(got[0]["HostPort"])
    low, high = _port_range(docker01)
    assert low <= port <= high, f"{port} outside {low}-{high}"
    res = http_get(f"http://{docker01.address}:{port}/")
    assert res.status == 200, str(res)


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs 容器 可以看到应用输出 Running on http://...:5000",
                  en="docker logs CONTAINER shows the application's Running on http://...:5000")
def test_dk30_logs(docker01):
    """docker logs dk30-random shows the app running on port 5000."""
    _running(docker01, "dk30-random")
    logs = docker01.run("docker logs dk30-random 2>&1").stdout
    assert re.search(r"Running on http://\S+:5000", logs), logs[-300:]


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p 127.0.0.1:5000:5000 只在本机回环地址监听：宿主机 curl 127.0.0.1:5000 可以访问，其他机器不行",
                  en="-p 127.0.0.1:5000:5000 listens on the loopback only: curl 127.0.0.1:5000 works on the host, other machines are refused")
def test_dk30_loopback_only(docker01, params):
    """dk30-local binds 127.0.0.1:5000: it answers on docker01's loopback and not on its address (from the grader)."""
    c = _running(docker01, "dk30-local")
    port = str(params.webapp_port)
    assert _bindings(c, "5000/tcp") == [{"HostIp": "127.0.0.1", "HostPort": port}], _bindings(c, "5000/tcp")
    local = docker01.run("curl -s --max-time 5 http://127.0.0.1:%s/", port)
    assert local.rc == 0 and "Hello" in local.stdout, f"curl 127.0.0.1:{port} on docker01: {local.stdout[:100]!r}"
    remote = http_get(f"http://{docker01.address}:{port}/", timeout=3)
    assert remote.status is None, f"port {port} answers from outside: {remote}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="端口映射由 docker-proxy 监听或 iptables 的 DNAT 规则实现（ss -ltnp、iptables -t nat -S DOCKER）",
                  en="A published port is a docker-proxy listener or an iptables DNAT rule (ss -ltnp, iptables -t nat -S DOCKER)")
def test_dk30_proxy_or_dnat(docker01, params):
    """Port 5000 is held by docker-proxy or DNAT'ed in the nat table's DOCKER chain."""
    _running(docker01, "dk30-local")
    port = str(params.webapp_port)
    ss = docker01.run("ss -ltnp").stdout
    proxy = any(f":{port} " in ln and "docker-proxy" in ln for ln in ss.splitlines())
    dnat = re.search(rf"--dport {port} -j DNAT", _nat(docker01, "DOCKER"))
    assert proxy or dnat, f"neither docker-proxy on :{port} nor a DNAT rule"


# --------------------------------------------------------------------------- DK31, B12: --link


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -P --name web01 --link db:db training/webapp python app.py：HostConfig.Links 为 [/db:/web01/db]",
                  en="docker run -d -P --name web01 --link db:db training/webapp python app.py gives HostConfig.Links [/db:/web01/db]")
def test_dk31_link_config(docker01):
    """web01 is named /web01 and links /db as /web01/db."""
    c = _running(docker01, "web01")
    assert c["Name"] == "/web01", c["Name"]
    assert c["HostConfig"]["Links"] == ["/db:/web01/db"], f"Links: {c['HostConfig']['Links']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="--link 会在 web01 的 /etc/hosts 写入 db 的 IP，并注入 DB_ 开头的环境变量",
                  en="--link writes db's IP into web01's /etc/hosts and injects DB_* environment variables")
def test_dk31_link_hosts_and_env(docker01):
    """web01's /etc/hosts maps db to db's IP, and its environment has DB_NAME, DB_PORT and DB_ENV_PG_VERSION."""
    db_ip = _ip(_running(docker01, "db"))
    _running(docker01, "web01")
    hosts = docker01.run("docker exec web01 cat /etc/hosts 2>&1").stdout
    assert re.search(rf"^{re.escape(db_ip)}\s+db(\s|$)", hosts, re.M), f"no `{db_ip} db` in /etc/hosts: {hosts[-300:]}"
    env = docker01.run("docker exec web01 env 2>&1").stdout.split()
    want = {"DB_NAME=/web01/db", f"DB_PORT=tcp://{db_ip}:5432", f"DB_PORT_5432_TCP_ADDR={db_ip}",
            "DB_PORT_5432_TCP_PORT=5432", "DB_PORT_5432_TCP_PROTO=tcp", "DB_ENV_PG_VERSION=9.3"}
    assert want <= set(env), f"missing: {sorted(want - set(env))}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="redis-slave1 用 --link redis-master:master 连接，容器里用别名 master 访问：redis-cli -h master ping 返回 PONG",
                  en="redis-slave1 links redis-master as master, so it reaches it by the alias: redis-cli -h master ping answers PONG")
def test_b12_redis_link(docker01):
    """redis-slave1 links /redis-master as master, and redis-cli -h master ping answers PONG."""
    c = _running(docker01, "redis-slave1")
    assert c["HostConfig"]["Links"] == ["/redis-master:/redis-slave1/master"], c["HostConfig"]["Links"]
    out = docker01.run("docker exec redis-slave1 redis-cli -h master ping 2>&1").stdout.strip()
    assert out == "PONG", f"redis-cli -h master ping: {out!r}"


# --------------------------------------------------------------------------- A06: user-defined bridge


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker network create my-net；docker network connect my-net 容器；自定义网络上的容器可以用容器名互相访问",
                  en="docker network create my-net; docker network connect my-net CONTAINER; containers on a user-defined network reach each other by name")
def test_a06_user_network(docker01, params):
    """my-net is a bridge network; redis-master is on bridge and my-net; a06client reaches it by name."""
    net = docker01.run("docker network inspect %s", params.user_network)
    assert net.rc == 0, f"network {params.user_network} does not exist"
    assert json.loads(net.stdout)[0]["Driver"] == "bridge"
    master = _running(docker01, "redis-master")
    assert {"bridge", params.user_network} <= set(master["NetworkSettings"]["Networks"]), \
        f"redis-master is on {list(master['NetworkSettings']['Networks'])}"
    _running(docker01, "a06client")
    res = docker01.run("docker exec a06client ping -c 1 -W 2 redis-master 2>&1")
    assert res.rc == 0 and _ip(master, params.user_network) in res.stdout, f"ping redis-master from a06client: {res.stdout.strip()[-200:]}"


# --------------------------------------------------------------------------- C27, C28: bridge and NAT internals


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器 eth0 的 iflink 等于宿主机上某个 veth 的 ifindex，这个 veth 挂在 docker0 上；容器默认网关是 172.17.0.1",
                  en="The container's eth0 iflink equals the ifindex of one host veth, which is on docker0; the container's default gateway is 172.17.0.1")
def test_c27_veth_pairing(docker01, params):
    """test1's eth0 pairs with exactly one veth on docker0, its default route is docker0, and it reaches test2 by IP."""
    _running(docker01, "test1")
    iflink = docker01.run("docker exec test1 cat /sys/class/net/eth0/iflink 2>&1").stdout.strip()
    assert iflink.isdigit(), f"iflink: {iflink!r}"
    matches = docker01.run("grep -lx %s /sys/class/net/veth*/ifindex", iflink).stdout.split()
    assert len(matches) == 1, f"host veths with ifindex {iflink}: {matches}"
    veth = matches[0].split("/")[4]
    master = docker01.run("readlink /sys/class/net/%s/master", veth).stdout.strip()
    assert master.endswith("/docker0"), f"{veth} is on {master or 'no bridge'}"
    gateway = str(ipaddress.ip_interface(params.docker0).ip)
    assert f"default via {gateway} dev eth0" in docker01.run("docker exec test1 ip route 2>&1").stdout
    test2 = _ip(_running(docker01, "test2"))
    page = docker01.run("docker exec test1 wget -qO- http://%s/ 2>&1", test2).stdout
    assert "Welcome to nginx!" in page, f"test1 -> test2 ({test2}): {page[:200]!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-p 8088:80 的实现：nat 表 PREROUTING 把本机地址的流量交给 DOCKER 链，DOCKER 链 DNAT 到容器，POSTROUTING 对 172.17.0.0/16 做 MASQUERADE",
                  en="-p 8088:80 is nat PREROUTING (local addresses) -> DOCKER chain DNAT to the container, and POSTROUTING MASQUERADE for 172.17.0.0/16")
def test_c28_nat_rules(docker01, params):
    """test answers on :8088 (from the grader); PREROUTING, DOCKER DNAT, MASQUERADE, local route and ip_forward are in place."""
    test_ip = _ip(_running(docker01, "test"))
    assert http_get(f"http://{docker01.address}:{params.nat_port}/").status == 200
    assert re.search(r"-m addrtype --dst-type LOCAL -j DOCKER", _nat(docker01, "PREROUTING")), "no PREROUTING rule to DOCKER"
    dnat = [ln for ln in _nat(docker01, "DOCKER").splitlines() if f"--dport {params.nat_port} " in ln]
    assert any("! -i docker0" in ln and f"-j DNAT --to-destination {test_ip}:80" in ln for ln in dnat), f"DNAT rules: {dnat}"
    subnet = str(ipaddress.ip_interface(params.docker0).network)
    assert f"-A POSTROUTING -s {subnet} ! -o docker0 -j MASQUERADE" in _nat(docker01, "POSTROUTING")
    gateway = str(ipaddress.ip_interface(params.docker0).ip)
    assert f"local {gateway} dev docker0" in docker01.run("ip route show table local type local").stdout
    assert docker01.run("sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"


# --------------------------------------------------------------------------- C13, B10: DNS and hostname


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --dns 8.8.8.8 ...：容器的 /etc/resolv.conf 只有 nameserver 8.8.8.8",
                  en="docker run --dns 8.8.8.8 ...: the container's /etc/resolv.conf has nameserver 8.8.8.8 only")
def test_c13_dns(docker01, params):
    """c13dns was started with --dns 8.8.8.8 and its resolv.conf has exactly that nameserver."""
    c = _running(docker01, "c13dns")
    assert c["HostConfig"]["Dns"] == [params.dns], f"HostConfig.Dns {c['HostConfig']['Dns']}"
    conf = docker01.run("docker exec c13dns cat /etc/resolv.conf 2>&1").stdout
    assert re.findall(r"^nameserver\s+(\S+)", conf, re.M) == [params.dns], conf


@pytest.mark.points(1)
@pytest.mark.hint(zh="-h 设置容器主机名（写入 /etc/hostname 和 /etc/hosts），--dns-search 设置搜索域",
                  en="-h sets the hostname (in /etc/hostname and /etc/hosts); --dns-search sets the search domain")
def test_b10_hostname_and_search(docker01, params):
    """b10's hostname is labhost (also in /etc/hosts), its resolv.conf has nameserver 1.1.1.1 and search example.com."""
    c = _running(docker01, "b10")
    assert c["Config"]["Hostname"] == params.b10_hostname, c["Config"]["Hostname"]
    out = docker01.run("docker exec b10 sh -c %s 2>&1", "hostname; cat /etc/hosts /etc/resolv.conf").stdout
    assert out.splitlines()[0] == params.b10_hostname, out[:100]
    assert re.search(rf"\s{params.b10_hostname}(\s|$)", "\n".join(out.splitlines()[1:])), "labhost is not in /etc/hosts"
    assert f"nameserver {params.b10_dns}" in out and f"search {params.b10_search}" in out, out[-300:]


# --------------------------------------------------------------------------- DK33: custom bridge (docker02)


@pytest.mark.points(2)
@pytest.mark.hint(zh="停掉 docker，删除 docker0（ip link set docker0 down; brctl delbr docker0），创建 bridge0 并配置 192.168.5.1/24；docker 20.10 第一次重启后会恢复旧的 docker0，需再删除一次",
                  en="Stop docker, delete docker0 (ip link set docker0 down; brctl delbr docker0), create bridge0 with 192.168.5.1/24; docker 20.10 restores the old docker0 once on the first restart: delete it again")
def test_dk33_bridge0_replaces_docker0(docker02, params):
    """On docker02, bridge0 is up with 192.168.5.1/24 and docker0 no longer exists."""
    link = docker02.run("ip -o link show %s", params.custom_bridge)
    assert link.rc == 0 and re.search(r"[<,]UP[,>]", link.stdout), f"{params.custom_bridge}: {link.stdout.strip() or 'missing'}"
    assert f"inet {params.custom_cidr}" in docker02.run("ip -4 -o addr show %s", params.custom_bridge).stdout
    assert docker02.run("ip link show docker0").rc != 0, "docker0 still exists on docker02"


@pytest.mark.points(2)
@pytest.mark.hint(zh="daemon.json 加入 \"bridge\": \"bridge0\"（保留其他键）并重启 docker；默认 bridge 网络就用 bridge0 的子网",
                  en="Add \"bridge\": \"bridge0\" to daemon.json (keep the other keys) and restart docker; the default bridge network then uses bridge0's subnet")
def test_dk33_daemon_uses_bridge0(docker02, params):
    """daemon.json has "bridge": "bridge0" and the `bridge` network is bridge0, 192.168.5.0/24, gateway 192.168.5.1."""
    cfg = docker02.run("cat %s", params.daemon_json)
    assert cfg.rc == 0, f"{params.daemon_json} does not exist on docker02"
    assert json.loads(cfg.stdout).get("bridge") == params.custom_bridge, f"daemon.json: {cfg.stdout.strip()[:200]}"
    net = json.loads(docker02.run("docker network inspect bridge").stdout)[0]
    iface = ipaddress.ip_interface(params.custom_cidr)
    assert net["Options"].get("com.docker.network.bridge.name") == params.custom_bridge, net["Options"]
    ipam = net["IPAM"]["Config"][0]
    assert ipam.get("Subnet") == str(iface.network) and ipam.get("Gateway") == str(iface.ip), ipam


@pytest.mark.points(2)
@pytest.mark.hint(zh="重启 docker 后新容器的 IP 在 192.168.5.0/24，它的 veth 挂在 bridge0 上",
                  en="After the restart, new containers get 192.168.5.x/24 and their veth is on bridge0")
def test_dk33_containers_on_bridge0(docker02, params):
    """dk33 runs with an address in 192.168.5.0/24, and bridge0 has a veth port."""
    c = _running(docker02, "dk33")
    ip = _ip(c)
    assert ip and ipaddress.ip_address(ip) in ipaddress.ip_interface(params.custom_cidr).network, f"dk33 has {ip!r}"
    links = docker02.run("ip -o link show master %s", params.custom_bridge).stdout
    assert re.search(r"^\d+: veth", links, re.M), f"no veth on {params.custom_bridge}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker 会为 bridge0 的子网添加 MASQUERADE 规则：-s 192.168.5.0/24 ! -o bridge0 -j MASQUERADE",
                  en="docker adds a MASQUERADE rule for bridge0's subnet: -s 192.168.5.0/24 ! -o bridge0 -j MASQUERADE")
def test_dk33_masquerade(docker02, params):
    """docker02's nat POSTROUTING masquerades 192.168.5.0/24 leaving through anything but bridge0."""
    subnet = str(ipaddress.ip_interface(params.custom_cidr).network)
    rule = f"-A POSTROUTING -s {subnet} ! -o {params.custom_bridge} -j MASQUERADE"
    assert rule in _nat(docker02, "POSTROUTING"), f"no `{rule}`"


@pytest.mark.points(1)
@pytest.mark.hint(zh="容器通过 bridge0 和 NAT 访问外部（离线实验里 ping 另一台实验主机代替 ping baidu.com）",
                  en="Containers reach the outside through bridge0 and NAT (offline, ping another lab host instead of baidu.com)")
def test_dk33_outbound(docker02, docker01, params):
    """A --rm busybox probe on docker02 gets a bridge0 address and pings docker01 through NAT."""
    res = docker02.run("docker run --rm --pull never busybox sh -c %s 2>&1",
                       f"ip -4 -o addr show eth0 && ping -c 2 -W 2 {docker01.address}")
    addr = re.search(r"inet (\S+)", res.stdout)
    network = ipaddress.ip_interface(params.custom_cidr).network
    assert addr and ipaddress.ip_interface(addr[1]).ip in network, f"the probe is not on {network}: {res.stdout.strip()[:200]}"
    assert res.rc == 0, f"ping {docker01.address} from a container on docker02: {res.stdout.strip()[-200:]}"
