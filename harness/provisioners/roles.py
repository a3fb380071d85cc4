"""What each host role promises — its daemon — and the read-only questions that say it answers.

One table for every provisioner. Two questions per role, because two kinds of host are asked:

- ``grade``: a host that already exists (a student's, ``static``), asked once before its checks;
  only the role's own CLI, which any such host has (no curl assumed). ``None``: not asked.
- ``ready``: a host booted from the host image (``libvirt``), asked until it answers before the
  host is handed out; under TCG the docker CLI costs seconds, so dockerd is asked through its
  engine API with curl, which the image has.

Both columns are the questions each provisioner asked before they shared this table, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core.lab import Role


@dataclass(frozen=True)
class RoleProbe:
    daemon: str  # what the checks name: dockerd, libvirtd, glusterd
    unit: str  # its systemd unit, for why it does not answer
    grade: str | None  # asked of existing hosts (students'): one short read, the role's own CLI
    ready: str  # asked of hosts booted from the host image until it answers


ROLE_PROBES: dict[Role, RoleProbe] = {
    Role.KVM_HOST: RoleProbe("libvirtd", "libvirtd", grade="virsh -c qemu:///system uri",
                             ready="virsh -c qemu:///system version"),
    Role.DOCKER_HOST: RoleProbe("dockerd", "docker", grade="docker version >/dev/null",
                                ready="curl -sf --max-time 20 --unix-socket /run/docker.sock http://docker/_ping"),
    Role.STORAGE_HOST: RoleProbe("glusterd", "glusterd", grade=None, ready="gluster --mode=script pool list"),
}

#: the static provisioner's view: role value -> (daemon, command) for roles asked before grading
DAEMON_PROBES: dict[str, tuple[str, str]] = {
    role.value: (p.daemon, p.grade) for role, p in ROLE_PROBES.items() if p.grade is not None
}
