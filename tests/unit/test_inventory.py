"""The inventory schema (harness/hosts/inventory.py) and the harness's known_hosts (harness/hosts/ssh_keys.py): no network."""

from __future__ import annotations

import subprocess
import textwrap
import threading
from pathlib import Path

import paramiko
import pytest

from harness.core.lab import Role
from harness.hosts.inventory import HostEntry, InventoryError, load_inventory
from harness.core.lab import HostSpec, Lab
from harness.hosts.ssh_keys import HostKeyMismatch, HostKeyPolicy

LABS = {
    "dockerfile": Lab("dockerfile", "t", (HostSpec("docker01", Role.DOCKER_HOST),), params=object, package_dir=Path(".")),
    "swarm": Lab("swarm", "t", (HostSpec("manager", Role.DOCKER_HOST), HostSpec("worker1", Role.DOCKER_HOST)),
                 params=object, package_dir=Path(".")),
}


@pytest.fixture
def key(tmp_path) -> Path:
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def load(tmp_path: Path, text: str, labs=LABS):
    path = tmp_path / "class.yaml"
    path.write_text(textwrap.dedent(text))
    return load_inventory(path, known_labs=labs)


def problems(tmp_path: Path, text: str, labs=LABS) -> list[str]:
    with pytest.raises(InventoryError) as err:
        load(tmp_path, text, labs)
    return [ln.replace(str(tmp_path) + "/", "") for ln in str(err.value).splitlines()]


def test_a_full_inventory(tmp_path, key):
    inv = load(tmp_path, f"""\
        version: 1
        defaults: {{user: grader, key_file: {key}, timeout: 30, connect_timeout: 4, host_key_policy: strict,
                    known_hosts: ~/kh}}
        targets:
          - name: 张三
            labs: [dockerfile, swarm]
            hosts:
              docker01: {{address: 10.0.1.70, port: 2222}}
            lab_hosts:
              swarm:
                manager: {{address: 192.168.99.100}}
                worker1: {{address: 192.168.99.101, user: docker, password: "p@ss: word"}}
                docker01: {{address: 10.9.9.9}}
          - name: bob
            hosts: {{docker01: {{container: bob-docker01}}}}
        """)
    zs, bob = inv.targets
    assert zs.name == "张三" and zs.labs == ("dockerfile", "swarm") and bob.labs is None
    d = zs.hosts["docker01"]
    assert (d.address, d.port, d.user, d.key_file, d.timeout, d.connect_timeout, d.host_key_policy) == (
        "10.0.1.70", 2222, "grader", str(key), 30.0, 4.0, "strict")
    assert d.known_hosts == str(Path("~/kh").expanduser()) and d.connection == "ssh"
    # lab_hosts: only for that lab, and over `hosts`
    assert zs.hosts_for("dockerfile")["docker01"].address == "10.0.1.70"
    swarm = zs.hosts_for("swarm")
    assert swarm["docker01"].address == "10.9.9.9" and swarm["worker1"].user == "docker"
    assert swarm["worker1"].password == "p@ss: word" and "p@ss" not in repr(swarm["worker1"])
    assert bob.hosts["docker01"].connection == "docker" and bob.hosts["docker01"].user == "grader"
    assert HostEntry("x", address="h") == HostEntry("x", address="h")  # hashable, a cache key


def test_every_mistake_at_once_with_its_line(tmp_path, key):
    got = problems(tmp_path, f"""\
        version: 1
        defaults: {{port: 0, host_key_policy: maybe}}
        targets:
          - name: alice
            labs: dockerfile
            hosts:
              docker01: {{address: 10.0.1.70, timeout: -1, local: yes please}}
          - name: alice
            hosts:
              docker01: {{address: a, container: b}}
          - name: 7
            hosts: {{docker01: {{address: h, user: [root]}}}}
          - hosts: {{docker01: {{address: h}}}}
          - name: carol
            labs: [dockerfile, nosuch]
            hosts: {{docker01: {{address: h, key_file: {key}.pub, colour: red}}}}
        """)
    assert got == [
        "class.yaml:2: defaults.port: expected a number (1-65535), got 0",
        "class.yaml:2: defaults.host_key_policy: expected one of tofu, strict, ignore, got 'maybe'",
        "class.yaml:5: targets[0].labs: expected a non-empty list of lab names, got 'dockerfile'",
        "class.yaml:7: targets[0].hosts.docker01.timeout: expected a number of seconds > 0, got -1",
        "class.yaml:7: targets[0].hosts.docker01.local: expected true or false, got 'yes please'",
        "class.yaml:8: targets[1].name: duplicate target 'alice' (first at line 4)",
        "class.yaml:10: targets[1].hosts.docker01: give only one of address, container, local (got address, container)",
        "class.yaml:11: targets[2].name: expected a non-empty string, got 7",
        "class.yaml:12: targets[2].hosts.docker01.user: expected a string, got ['root']",
        "class.yaml:13: targets[3]: missing 'name' (the student's name, as the report shows it)",
        "class.yaml:15: targets[4].labs: unknown lab 'nosuch' (labs: dockerfile, swarm)",
        "class.yaml:16: targets[4].hosts.docker01.colour: unknown field (expected one of: address, connect_timeout, "
        "container, guest_key_file, guest_password, guest_user, host_key_policy, key_file, known_hosts, local, "
        "password, port, timeout, user)",
    ]


@pytest.mark.parametrize("text, message", [
    ("version: 1\ntargets:\n  - name: a\n    hosts: {docker01: {address: h}}\n    hosts: {docker01: {address: i}}\n",
     "class.yaml:5: duplicate key 'hosts' (first at line 4)"),
    ("version: 1\ntargets:\n  - name: a\n    labs: [swarm]\n    hosts: {manager: {address: h}}\n",
     "class.yaml:4: targets[0]: lab 'swarm' needs host worker1, which neither hosts nor lab_hosts.swarm gives"),
    ("version: 1\ntargets:\n  - name: a\n    labs: [dockerfile]\n    hosts: {docker01: {address: h}}\n"
     "    lab_hosts: {swarm: {manager: {address: h}}}\n",
     "class.yaml:6: targets[0].lab_hosts.swarm: lab 'swarm' is not in this target's labs (dockerfile)"),
    ("version: 1\ntargets:\n  - name: a\n    lab_hosts: {nosuch: {manager: {address: h}}}\n",
     "class.yaml:4: targets[0].lab_hosts.nosuch: unknown lab 'nosuch'"),
    ("version: 1\ntargets:\n  - name: \"a\\tb\"\n    hosts: {docker01: {address: h}}\n",
     "class.yaml:3: targets[0].name: 'a\\tb' has control characters or leading/trailing spaces"),
    ("version: 1\ntargets:\n  - name: a\n", "class.yaml:3: targets[0].hosts: expected a mapping of host name"),
    ("version: 1\ntargets:\n  - name: a\n    hosts: {docker01: {address: h, port: true}}\n",
     "targets[0].hosts.docker01.port: expected a number (1-65535), got True"),
    ("version: 1\ntargets:\n  - name: a\n    hosts: [docker01]\n", "targets[0].hosts: expected a mapping"),
    ("version: 1\ndefaults: {address: h}\ntargets:\n  - name: a\n    hosts: {docker01: {local: true}}\n",
     "class.yaml:2: defaults.address: unknown field (give it per host)"),
    ("- just\n- a list\n", "class.yaml: expected a mapping with 'version' and 'targets'"),
    ("", "class.yaml: expected a mapping with 'version' and 'targets'"),
])
def test_one_clear_message(tmp_path, text, message):
    got = problems(tmp_path, text)
    assert len(got) == 1 and message in got[0], got


def test_key_files_checked_once_and_explained(tmp_path, key):
    enc = tmp_path / "encrypted"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(enc)], check=True)
    (tmp_path / "junk").write_text("hello\n")
    got = problems(tmp_path, f"""\
        version: 1
        defaults: {{key_file: {tmp_path}/missing}}
        targets:
          - {{name: a, hosts: {{docker01: {{address: h}}}}}}
          - {{name: b, hosts: {{docker01: {{address: h}}}}}}
          - {{name: c, hosts: {{docker01: {{address: h, key_file: {enc}}}}}}}
          - {{name: d, hosts: {{docker01: {{address: h, key_file: {key}.pub}}}}}}
          - {{name: e, hosts: {{docker01: {{address: h, key_file: {tmp_path}/junk}}}}}}
          - {{name: f, hosts: {{docker01: {{address: h, key_file: {tmp_path}}}}}}}
          - {{name: g, hosts: {{docker01: {{container: c1}}}}}}
        """)
    assert got[0] == "class.yaml:2: defaults.key_file: cannot read missing: No such file or directory"
    assert sum("defaults.key_file" in g for g in got) == 1  # used by a and b: said once, at the default
    assert any(g.startswith("class.yaml:6:") and "is encrypted" in g for g in got)
    assert any(g.startswith("class.yaml:7:") and "is not a private key (that is a public key" in g for g in got)
    assert any(g.startswith("class.yaml:8:") and "junk is not a private key" in g for g in got)
    assert any(g.startswith("class.yaml:9:") and "it is a directory" in g for g in got)
    assert not any(g.startswith("class.yaml:10:") for g in got)  # container hosts need no key


def test_cannot_read_the_file(tmp_path):
    with pytest.raises(InventoryError, match="cannot read the inventory: No such file"):
        load_inventory(tmp_path / "nope.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InventoryError, match="not UTF-8"):
        load_inventory(tmp_path / "bin.yaml")


# ---------------------------------------------------------------- known_hosts (tofu recording)


def test_tofu_records_once_and_refuses_a_change(tmp_path):
    policy = HostKeyPolicy("tofu", tmp_path / "ssh" / "known_hosts")
    k1, k2 = paramiko.Ed25519Key.from_private_key_file(_ed25519(tmp_path, "a")), \
        paramiko.Ed25519Key.from_private_key_file(_ed25519(tmp_path, "b"))
    threads = [threading.Thread(target=policy.record, args=("[10.0.0.5]:2222", k1, "alice/docker01")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "ssh" / "known_hosts").read_text().splitlines()
    assert lines == [f"[10.0.0.5]:2222 ssh-ed25519 {k1.get_base64()}"]  # eight workers, one line
    with pytest.raises(HostKeyMismatch, match=r"the host key changed .*remove its line from"):
        policy.record("[10.0.0.5]:2222", k2, "alice/docker01")
    client = paramiko.SSHClient()
    policy.prepare(client, "x")
    assert client.get_host_keys().lookup("[10.0.0.5]:2222")["ssh-ed25519"] == k1


def _ed25519(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)


def test_progress_maps_node_ids_to_targets():
    from harness.plugin.progress import target_of_nodeid

    targets = ["s01", "s1", "学生二", "a-b"]
    assert target_of_nodeid("labs/x/test_x.py::test_a[s01]", targets) == "s01"
    assert target_of_nodeid("labs/x/test_x.py::test_a[s1]", targets) == "s1"
    assert target_of_nodeid("labs/x/test_x.py::test_a[\\u5b66\\u751f\\u4e8c]", targets) == "学生二"
    assert target_of_nodeid("labs/x/test_x.py::test_a[a-b-param2]", targets) == "a-b"
    assert target_of_nodeid("labs/x/test_x.py::test_a", targets) is None
