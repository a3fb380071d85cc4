"""GuestView logic that needs no VM: choosing the way in, parsing, address choice, errors."""

from __future__ import annotations

import time

import pytest

from harness.errors import HarnessError
from harness.guest import AGENT_CHANNEL, AgentUnavailable, ExecResult
from harness.guest_ssh import (
    GuestCredentials,
    GuestView,
    agent_channel_state,
    count_cpu_list,
    parse_interfaces,
)


def _xml(channel_state: str | None, with_channel: bool = True) -> str:
    ch = ""
    if with_channel:
        st = f" state='{channel_state}'" if channel_state is not None else ""
        ch = f"<channel type='unix'><target type='virtio' name='{AGENT_CHANNEL}'{st}/></channel>"
    return f"<domain><name>centos7</name><devices>{ch}</devices></domain>"


class FakeDomain:
    def __init__(self, xml: str):
        self._xml = xml

    def name(self) -> str:
        return "centos7"

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802 (libvirt's name)
        return self._xml


class FakeHost:
    name = "kvm01"
    access = None


def test_agent_channel_state():
    assert agent_channel_state(_xml(None, with_channel=False)) is None
    assert agent_channel_state(_xml("disconnected")) == "disconnected"
    assert agent_channel_state(_xml("connected")) == "connected"
    assert agent_channel_state(_xml(None)) == ""


@pytest.mark.parametrize("xml,why", [
    (_xml(None, with_channel=False), "no guest agent channel"),
    (_xml("disconnected"), "guest agent not connected"),
])
def test_no_agent_is_seen_at_once_without_pinging(monkeypatch, xml, why):
    def boom(*a, **k):
        raise AssertionError("must not ping")

    monkeypatch.setattr("harness.guest.GuestAgent.ping", boom)
    view = GuestView(FakeHost(), FakeDomain(xml))
    t0 = time.monotonic()
    assert view.transport == "ssh"
    assert time.monotonic() - t0 < 0.5
    assert view.why_not_agent == why


def test_connected_agent_that_answers_is_used(monkeypatch):
    pings = []
    monkeypatch.setattr("harness.guest.GuestAgent.ping", lambda self, timeout=5.0: pings.append(timeout))
    monkeypatch.setattr("harness.guest.GuestAgent.exec",
                        lambda self, argv, timeout=30.0, **k: ExecResult(3, "out", "err"))
    view = GuestView(FakeHost(), FakeDomain(_xml("connected")))
    res = view.run("false")
    assert view.transport == "agent" and pings == [2.0]
    assert (res.rc, res.stdout, res.stderr) == (3, "out", "err")


def test_agent_that_does_not_answer_falls_back_to_ssh(monkeypatch):
    def ping(self, timeout=5.0):
        raise AgentUnavailable("guest-ping: Guest agent is not responding")

    monkeypatch.setattr("harness.guest.GuestAgent.ping", ping)
    view = GuestView(FakeHost(), FakeDomain(_xml("connected")))
    assert view.transport == "ssh"
    assert "did not answer" in view.why_not_agent


def test_credentials_hide_the_password():
    c = GuestCredentials("root", "s3cret", None)
    assert "s3cret" not in repr(c) and "s3cret" not in c.describe()
    assert c.describe() == "root's password"
    assert GuestCredentials("root", None, "/k").describe() == "root's key /k"


def test_parse_interfaces_busybox_and_centos():
    text = """LINK eth0 52:54:00:AA:bb:01
LINK lo 00:00:00:00:00:00
LINK eth1 52:54:00:aa:bb:02
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.122.60/24 brd 192.168.122.255 scope global dynamic eth0\\       valid_lft 3000sec
2: eth0    inet6 fe80::5054:ff:feaa:bb01/64 scope link \\       valid_lft forever preferred_lft forever
3: eth1@if7    inet 10.0.1.52/24 brd 10.0.1.255 scope global eth1
"""
    ifs = {i.name: i for i in parse_interfaces(text)}
    assert ifs["eth0"].mac == "52:54:00:aa:bb:01"
    assert ifs["eth0"].ipv4 == ["192.168.122.60/24"]
    assert "fe80::5054:ff:feaa:bb01/64" in ifs["eth0"].addresses
    assert ifs["eth1"].ipv4 == ["10.0.1.52/24"]
    assert ifs["lo"].ipv4 == ["127.0.0.1/8"]


@pytest.mark.parametrize("text,n", [("0\n", 1), ("0-1\n", 2), ("0-1,3\n", 3), ("0,2-5", 5)])
def test_count_cpu_list(text, n):
    assert count_cpu_list(text) == n


def test_errors_are_harness_errors():
    from harness.guest_ssh import GuestLoginRefused, GuestNoAddress, GuestTransportError

    for cls in (GuestLoginRefused, GuestNoAddress, GuestTransportError):
        assert issubclass(cls, HarnessError)
