import pytest


@pytest.fixture
def docker01(hosts):
    """The course's Docker host, where the registry runs (docker01, 10.0.1.70 in the notes)."""
    return hosts["docker01"]


@pytest.fixture
def client01(hosts):
    """A second Docker host on the same network that pulls from docker01's registry."""
    return hosts["client01"]
