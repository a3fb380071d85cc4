"""What the kvm room raises about a guest: one GuestError family, a HarnessError, so never a FAIL."""

from __future__ import annotations

from harness.core.errors import HarnessError


class GuestError(HarnessError):
    """Base of everything this room raises about the lab guest (image, domain, agent, view).

    A HarnessError: a check that cannot reach the guest is ERROR, never FAIL; a check that
    blames the student must say so with an assertion (e.g. "the VM is not running")."""


# -------------------------------------------------------------------------------- image
class GuestImageMissing(GuestError):
    """The kernel/initrd are not in the cache: ``images/guest/build.sh`` has not run."""


# -------------------------------------------------------------------------------- agent
class AgentUnavailable(GuestError):
    """The guest agent did not answer (not connected yet, domain not running, or timed out)."""


class AgentTimeout(AgentUnavailable):
    """``wait_ready`` ran out of time; the message states the last state seen."""


class AgentCommandError(GuestError):
    """The agent answered, with an error (bad arguments, unknown command, exec failure)."""


class ExecTimeout(GuestError):
    """A command run in the guest (by the agent or over SSH) did not exit before its deadline."""


# --------------------------------------------------------------------- the guest's own view
class GuestViewError(GuestError):
    """The guest's own view cannot be read (ERROR: never the student's fault by itself)."""


class GuestNoAddress(GuestViewError):
    """No agent, and the guest has no DHCP lease or ARP entry on its KVM host."""


class GuestLoginRefused(GuestViewError):
    """The guest's SSH server refused the inventory's credential."""


class GuestTransportError(GuestViewError):
    """The tunnel through the KVM host, the TCP connection or the SSH handshake failed."""

    before_banner = False  # the connection broke before SSH began: worth opening again (GuestSSH.connect)
