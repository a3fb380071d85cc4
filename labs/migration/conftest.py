import pytest


@pytest.fixture
def kvm01(hosts):
    """The source host (kvm01, 10.0.1.50 in the notes)."""
    return hosts["kvm01"]


@pytest.fixture
def kvm02(hosts):
    """The target host (kvm02, 10.0.1.63 in the notes)."""
    return hosts["kvm02"]


@pytest.fixture
def storage(hosts):
    """The shared-storage server (nfs01 in the course's live-migration table)."""
    return hosts["storage"]
