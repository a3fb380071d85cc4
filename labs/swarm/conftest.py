import pytest


@pytest.fixture
def manager(hosts):
    """The swarm manager (192.168.99.100 in the notes)."""
    return hosts["manager"]


@pytest.fixture
def worker1(hosts):
    """The first worker (192.168.99.101 in the notes)."""
    return hosts["worker1"]


@pytest.fixture
def worker2(hosts):
    """The second worker (192.168.99.102 in the notes)."""
    return hosts["worker2"]
