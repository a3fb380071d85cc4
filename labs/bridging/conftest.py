import pytest


@pytest.fixture
def kvm01(hosts):
    """The course's KVM host (kvm01, 10.0.1.50 in the notes)."""
    return hosts["kvm01"]


@pytest.fixture
def grader(hosts):
    """A machine on kvm01's segment that is neither kvm01 nor the guest (the catalog's grader)."""
    return hosts["grader"]
