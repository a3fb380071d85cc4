"""When an L1 host is ready: SSH answers with the harness key, then its role's daemon answers.

A host is handed out only then; an L1 that stops running meanwhile fails at once with its
console's last lines, and a role's unit that is not installed or failed for good raises
``ImageBroken`` (no retry helps) instead of waiting out the deadline. What the image cannot hold
is done after: the harness key (hosts reach each other with it, as container hosts do), a check
that docker hosts have their stand-ins and kvm hosts their lab guest and, where promised, KVM.
Checks then reach the host's daemons through its SSH connection, as ``qemu+ssh://`` and
``docker -H ssh://`` would (``harness.hosts.ssh_tunnel``), so a check never knows which provisioner
made its host.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from harness.core import artefacts
from harness.hosts.ssh_backend import TimedParamikoBackend
from harness.core.errors import HarnessError, ProvisioningError
from harness.hosts.host import Access, Host, Role
from harness.provisioners.libvirt.domain import L1Spec
from harness.provisioners.libvirt.hypervisor import Hypervisor
from harness.provisioners.roles import ROLE_PROBES, RoleProbe
from harness.hosts.ssh_keys import HostKeyPolicy
from harness.core.wait import wait_until

log = logging.getLogger(__name__)

READY_TIMEOUT = float(os.environ.get("LABHARNESS_L1_READY_TIMEOUT", "420"))
DAEMON_TIMEOUT = float(os.environ.get("LABHARNESS_L1_DAEMON_TIMEOUT", "240"))
#: a command's deadline on an L1 (``Host.timeout``): 60 s as on every other host where the L1 runs on
#: KVM, three times that where it is emulated (TCG): on 2 busy cores two commands in a row inside an
#: emulated L1 passed 60 s, the last a `virsh start` (CI of stop 17), which opened the breaker and
#: made a slow but healthy host ERROR a whole lab. A frozen L1 still opens the breaker, after two
#: of these deadlines.
COMMAND_TIMEOUT = {"kvm": 60.0, "qemu": 180.0}


class ImageBroken(ProvisioningError):
    """The host image cannot give a role what it needs (a daemon missing or failing): no retry helps."""


def console_tail(hv: Hypervisor, spec: L1Spec, lines: int = 15) -> str:
    if hv.local and spec.console and os.path.exists(spec.console):
        try:
            text = Path(spec.console).read_bytes().decode(errors="replace")
            tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
            return "console tail:\n  " + "\n  ".join(tail)
        except OSError:
            pass
    return f"(console log {spec.console} on {hv.uri})"


def domain_state(hv: Hypervisor, spec: L1Spec) -> str:
    import libvirt

    try:
        state, reason = hv.conn.lookupByName(spec.name).state(0)
    except libvirt.libvirtError as exc:
        return f"domain gone ({exc.get_error_message()})"
    return {1: "running", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed"}.get(state, f"state {state}")


def wait_ready(hv: Hypervisor, spec: L1Spec) -> Host:
    """Wait until SSH answers with the harness key, then until the role's daemon answers."""
    address = spec.ip.split("/")[0]
    what = f"{spec.hostname} ({spec.name}, {address})"

    def alive() -> None:
        st = domain_state(hv, spec)
        if st != "running":
            raise ProvisioningError(f"{what}: the VM is {st}; {console_tail(hv, spec)}")

    def port_open() -> bool:
        alive()
        if not hv.local:
            return True  # the hypervisor's network is not reachable from here: straight to SSH
        with socket.create_connection((address, 22), timeout=2):
            return True

    def state() -> str:
        return f"VM {domain_state(hv, spec)}; {console_tail(hv, spec)}"

    t0 = time.monotonic()
    wait_until(port_open, timeout=READY_TIMEOUT, what=f"{what}: SSH port open", state=state,
               interval=0.5, max_interval=1.0, fatal=(ProvisioningError,))
    backend_box: list[TimedParamikoBackend] = []

    def ssh_ok() -> bool:
        alive()
        b = TimedParamikoBackend(address, key_file=str(artefacts.ssh_key()), label=spec.hostname,
                                 connect_timeout=10, host_keys=HostKeyPolicy("ignore"))
        try:
            b.connect()
            if b.run("true", timeout=20).rc != 0:
                raise HarnessError("`true` failed")
        except Exception:
            b.close()
            raise
        backend_box.append(b)
        return True

    remaining = max(30.0, READY_TIMEOUT - (time.monotonic() - t0))
    wait_until(ssh_ok, timeout=remaining, what=f"{what}: SSH login as root with the harness key", state=state,
               interval=0.5, max_interval=2.0, fatal=(ProvisioningError,))
    backend = backend_box[0]
    access = Access(
        libvirt_uri=f"qemu+unix:///system?socket={backend.tunnel('libvirt')}",
        docker_url=f"unix://{backend.tunnel('docker')}",
        address=address,
    )
    host = Host(spec.hostname, spec.roles[0], backend, access, timeout=COMMAND_TIMEOUT[spec.domain_type])
    log.info("%s: SSH after %.1fs", what, time.monotonic() - t0)
    for role in spec.roles:
        probe = ROLE_PROBES[role]
        daemon, command = probe.daemon, probe.ready

        def answers() -> bool:
            if host.run(command, timeout=30).rc == 0:
                return True
            _daemon_broken(host, probe)  # raises ImageBroken: no point waiting for a unit that cannot start
            return False

        wait_until(answers, timeout=DAEMON_TIMEOUT, what=f"{what}: {daemon} answers", interval=0.5,
                   max_interval=2.0, state=lambda: _last_words(host, probe), fatal=(ImageBroken,))
    return host


def after_ready(host: Host, guest_accel: tuple[str, str], standin_pairs: list[tuple[str, str]] | None = None) -> None:
    """What the image cannot hold: the harness key (hosts reach each other with it, as container
    hosts do), stand-in images on docker hosts; and KVM for lab guests checked on kvm hosts."""
    import paramiko

    key = artefacts.ssh_key()
    with paramiko.SFTPClient.from_transport(host.ssh_transport()) as sftp:  # never on a command line
        try:
            sftp.mkdir("/opt/labharness/ssh", 0o700)
        except OSError:
            pass
        sftp.put(str(key), "/opt/labharness/ssh/id_ed25519")
        sftp.chmod("/opt/labharness/ssh/id_ed25519", 0o600)
    if host.role is Role.DOCKER_HOST:
        # the stand-ins come preloaded on the docker-data disk (/var/lib/docker): check they are there
        pairs = standin_pairs or []
        if pairs:
            import json

            # the engine API through curl, one call: the docker CLI costs seconds under TCG
            res = host.run("curl -sf --max-time 60 --unix-socket /run/docker.sock http://docker/images/json",
                           timeout=120)
            try:
                tags = {t for img in json.loads(res.stdout) for t in (img.get("RepoTags") or [])}
            except ValueError:
                tags = set()
            missing = sorted(dst for _, dst in pairs if dst not in tags and f"{dst}:latest" not in tags)
            if res.rc != 0 or missing:
                mounted = host.run("findmnt -n /var/lib/docker").stdout.strip() or "not mounted"
                raise ProvisioningError(f"{host.name}: stand-in images missing from /var/lib/docker: "
                                        f"{', '.join(missing[:8]) or res.stderr.strip()[-300:]} "
                                        f"(the docker-data disk: {mounted})")
    if host.role is Role.KVM_HOST:
        accel, why = guest_accel
        if accel == "kvm" and host.run("test -c /dev/kvm").rc != 0:
            raise ProvisioningError(f"{host.name}: no /dev/kvm in the L1 host although {why}; "
                                    f"lsmod: {host.run('lsmod | grep kvm').stdout.strip() or 'no kvm module'}")
        if host.run("test -s /opt/labharness/guest/vmlinuz && test -s /opt/labharness/guest/initrd.gz").rc != 0:
            raise ProvisioningError(f"{host.name}: the host image lacks the lab guest (/opt/labharness/guest)")


def _daemon_broken(host: Host, probe: RoleProbe) -> None:
    """Raise ImageBroken when the role's unit is not installed, or failed for good."""
    unit, daemon = probe.unit, probe.daemon
    res = host.run("systemctl show -p LoadState -p ActiveState -p Result -p ExecMainStatus %s.service", unit, timeout=30)
    props = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    if props.get("LoadState") == "not-found":
        raise ImageBroken(f"{host.name}: {daemon} is not installed in the host image ({unit}.service not found)")
    if props.get("ActiveState") == "failed":
        journal = host.run("journalctl -b -u %s.service --no-pager -n 6 -o cat", unit, timeout=30).stdout.strip()
        status = props.get("ExecMainStatus", "?")
        why = " (203/EXEC: its program is missing or not executable)" if status == "203" else ""
        raise ImageBroken(f"{host.name}: {daemon} cannot start in the host image ({unit}.service failed: "
                          f"{props.get('Result', '?')}, exit status {status}{why}): {journal[-600:]}")


def _last_words(host: Host, probe: RoleProbe) -> str:
    unit, command = probe.unit, probe.ready
    try:
        res = host.run(command, timeout=20)
        st = host.run("systemctl is-active %s; journalctl -b -u %s --no-pager -n 8 -o cat", unit, unit, timeout=20)
        return f"`{command}` exited {res.rc}: {(res.stderr or res.stdout).strip()[-300:]}; {unit}: {st.stdout.strip()[-800:]}"
    except Exception as exc:
        return f"cannot ask: {exc}"
