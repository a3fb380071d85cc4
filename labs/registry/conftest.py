import pytest


@pytest.fixture
def docker01(hosts):
    """The course's Docker host, where the registry runs (docker01, 10.0.1.70 in the notes)."""
    return hosts["docker01"]
