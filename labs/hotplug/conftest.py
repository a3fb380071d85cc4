import pytest


@pytest.fixture
def kvm01(hosts):
    """The course's KVM host (kvm01, 10.0.1.50 in the notes)."""
    return hosts["kvm01"]
