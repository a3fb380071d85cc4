import pytest


@pytest.fixture
def docker01(hosts):
    """The course's Docker host (docker01, 10.0.1.70 in the notes): every scenario but DK33."""
    return hosts["docker01"]


@pytest.fixture
def docker02(hosts):
    """A second Docker host for DK33, which replaces docker0 with bridge0 daemon-wide (the catalog
    says to run it last or revert it; here it has its own host)."""
    return hosts["docker02"]
