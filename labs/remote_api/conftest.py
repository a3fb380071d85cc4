import pytest


@pytest.fixture
def docker01(hosts):
    """The course's Docker host whose daemon listens on TCP (docker01, 10.0.1.70 in the notes)."""
    return hosts["docker01"]


@pytest.fixture
def client01(hosts):
    """The remote client (the notes' Mac `yumac`): another host with the docker CLI."""
    return hosts["client01"]
