"""Hosts as Docker containers on this machine: the default provisioner, for CI and laptops.

Each topology host is a container from an image built offline (``labharness/kvm-host``:
libvirtd, virtlogd, QEMU, sshd; ``labharness/docker-host``: dockerd inside), on a private
network made for the environment. ``--privileged`` fails on these machines (root lacks
CAP_SYS_RESOURCE), so the containers get every other capability explicitly. Guests inside
kvm-hosts run under TCG unless the KVM probe actually booted a guest.

The pytest process reaches each host's daemons through the container's own root,
``/proc/<pid>/root/...``: libvirt over its unix socket, dockerd over its socket, commands
through testinfra's docker backend. Nothing is published on the machine's ports.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors

from harness.core import artefacts
from harness.hosts.local_backends import TimedDockerBackend
from harness.core.errors import ProvisioningError, UsageError
from harness.hosts.host import Access, Host, Role
from harness.core.lab import Lab
from harness.provisioners.base import Provisioner
from harness.provisioners.naming import DOCKER_LABELS, MadeEnvironments, xdist_worker
from harness.core.runs import cache_dir
from harness.core.wait import wait_until

log = logging.getLogger(__name__)

READY_FILE = "/run/labharness-ready"
READY_TIMEOUT = 90.0
IMAGE_FOR_ROLE = {Role.KVM_HOST: artefacts.KVM_HOST_IMAGE, Role.DOCKER_HOST: artefacts.DOCKER_HOST_IMAGE,
                  Role.STORAGE_HOST: "labharness/storage-host:latest"}

# Every capability but CAP_SYS_RESOURCE, which this machine's root lacks (see notes/docker.md).
PSEUDO_PRIVILEGED = (
    "--init",  # reaps libvirt's probe QEMUs and containerd-shims
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",  # writable /proc/sys for libvirt networks and dockerd
    "--device-cgroup-rule", "a *:* rwm",
)


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        raise UsageError(f"dockerd is not answering ({exc}); start it with scripts/setup.sh") from None
    return client


def container_access(container) -> Access:
    """Daemon URIs of a running host container, through its root as seen from here."""
    container.reload()
    pid = container.attrs["State"]["Pid"]
    nets = container.attrs["NetworkSettings"]["Networks"]
    address = next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), None)
    return Access(
        libvirt_uri=f"qemu+unix:///system?socket=/proc/{pid}/root/run/libvirt/libvirt-sock",
        docker_url=f"unix:///proc/{pid}/root/var/run/docker.sock",
        address=address,
        container=container.name,
    )


def host_from_container(name: str, role: Role, container_name: str) -> Host:
    client = docker_client()
    try:
        container = client.containers.get(container_name)
    except docker.errors.NotFound:
        from harness.core.errors import HostUnreachable

        raise HostUnreachable(f"{name}: container {container_name!r} does not exist") from None
    return Host(name, role, TimedDockerBackend(container_name), container_access(container))


class ContainerProvisioner(MadeEnvironments, Provisioner):
    name = "container"

    def __init__(self, run_id: str, accel: str | None = None, **_: object):
        self.run_id = run_id
        self._accel = (accel, "given") if accel else None
        self.client = docker_client()
        # xdist workers of one run must never share (or remove) each other's hosts
        self.worker = xdist_worker()

    @classmethod
    def from_options(cls, opt, run_id: str) -> "ContainerProvisioner":
        return cls(run_id=run_id)

    @property
    def guest_accel(self) -> tuple[str, str]:
        """Guests on kvm-host containers use this machine's accelerator: probed on first need
        (a KVM boot probe, cached), never at collection time."""
        if self._accel is None:
            from harness.kvm import accel

            self._accel = accel.guest_accel()
        return self._accel

    @property
    def accel(self) -> str:
        return self.guest_accel[0]

    def container_name(self, lab: Lab, target: str, host: str) -> str:
        return f"{self._prefix(lab, target)}-{host}"

    def _labels(self, lab: Lab, target: str, host: str = "") -> dict[str, str]:
        return {DOCKER_LABELS[k]: v for k, v in self.marks(lab, target, host).items()}

    def create(self, lab: Lab, target: str) -> dict[str, Host]:
        prefix = self._prefix(lab, target)
        artefacts.require(artefacts.ssh_key(), "the harness's SSH key")
        for role in lab.roles:
            try:
                self.client.images.get(IMAGE_FOR_ROLE[role])
            except docker.errors.ImageNotFound:
                raise ProvisioningError(f"image {IMAGE_FOR_ROLE[role]} is missing: run scripts/setup.sh") from None
        network = self.client.networks.create(prefix, driver="bridge", labels=self._labels(lab, target))
        containers = {}
        for spec in lab.topology:
            containers[spec.name] = self._start(spec.name, spec.role, self.container_name(lab, target, spec.name),
                                                network.name, lab, target)
        hosts = {}
        for spec in lab.topology:
            c = containers[spec.name]
            host = Host(spec.name, spec.role, TimedDockerBackend(c.name), container_access(c))
            self._wait_ready(host, c)
            hosts[spec.name] = host
        standins, tar = [], None
        if Role.DOCKER_HOST in lab.roles:  # only the course images this lab uses: loading is the slow part
            standins = artefacts.standins_for(lab.images)
            tar = artefacts.standins_tar(standins)
        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(lambda h: self._after_ready(h, tar, standins), hosts.values()))
        return hosts

    def _start(self, name: str, role: Role, cname: str, network: str, lab: Lab, target: str):
        """``docker run`` through the CLI: the API has no ``systempaths=unconfined`` (MaskedPaths)."""
        argv = ["docker", "run", "-d", "--name", cname, "--hostname", name, "--network", network,
                "--network-alias", name,  # hosts reach each other by their course names (kvm02, manager)
                *PSEUDO_PRIVILEGED, "--device", "/dev/net/tun",
                "-v", f"{cache_dir()}:/opt/labharness:ro",
                "-v", f"{artefacts.ssh_key()}.pub:/etc/labharness/authorized_keys:ro",
                "-e", f"LABHARNESS_ROLE={role.value}", "-e", f"LABHARNESS_RUN={self.run_id}"]
        for k, v in self._labels(lab, target, name).items():
            argv += ["--label", f"{k}={v}"]
        if role is Role.DOCKER_HOST:
            vol = self.client.volumes.create(f"{cname}-docker", labels=self._labels(lab, target, name))
            argv += ["-v", f"{vol.name}:/var/lib/docker"]
        if role is Role.KVM_HOST and os.path.exists("/dev/fuse"):
            argv += ["--device", "/dev/fuse"]  # GlusterFS (FUSE) mounts: shared storage for migrations
        if role is Role.KVM_HOST and self.accel == "kvm":
            argv += ["--device", "/dev/kvm"]
        argv.append(IMAGE_FOR_ROLE[role])
        try:
            subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)
        except subprocess.CalledProcessError as exc:
            raise ProvisioningError(f"docker run {cname}: {exc.stderr.strip()}") from None
        except subprocess.TimeoutExpired:
            raise ProvisioningError(f"docker run {cname}: no answer within 120s") from None
        return self.client.containers.get(cname)

    def _wait_ready(self, host: Host, container) -> None:
        def state() -> str:
            container.reload()
            logs = container.logs(tail=15).decode(errors="replace").strip()
            return f"container {container.name} status={container.status}; log tail:\n{logs}"

        def ready() -> bool:
            container.reload()
            if container.status not in ("created", "running"):
                raise ProvisioningError(f"{host.name} ({host.role.value}) died while starting: {state()}")
            return host.run("test -e %s", READY_FILE, timeout=10).rc == 0

        wait_until(ready, timeout=READY_TIMEOUT, what=f"{host.name} ({host.role.value}) ready", state=state,
                   fatal=(ProvisioningError,))

    def _after_ready(self, host: Host, tar, standins: list[tuple[str, str]]) -> None:
        """Per-role set-up that the image cannot hold: the lab's stand-in images on docker hosts."""
        if host.role is Role.DOCKER_HOST and tar is not None:
            t0 = time.monotonic()
            inside = f"/opt/labharness/{tar.relative_to(cache_dir()).as_posix()}"
            host.check("docker load -q -i %s", inside, timeout=300)
            for src, dst in standins:
                host.check("docker tag %s %s", src, dst)
            log.info("%s: stand-in images loaded in %.1fs", host.name, time.monotonic() - t0)

    def destroy(self, lab: Lab, target: str) -> None:
        remove_labelled(self.client, self._labels(lab, target))


def _gone_or_going(exc: docker.errors.APIError) -> bool:
    """404 (already gone) or 409 (its removal is already in progress, e.g. by another reaper)."""
    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    return status in (404, 409) or "already in progress" in text or "no such" in text


def remove_labelled(client: docker.DockerClient, labels: dict[str, str], dry_run: bool = False) -> list[str]:
    """Remove containers, then volumes and networks, carrying all of ``labels``; return what was (or would be) removed.

    Never raises for one object: what is already gone (404) or being removed by someone else (409
    "removal already in progress": another worker's or run's reaper) is left to them, and what
    cannot be removed now (a volume or network still in use) is logged and left for the next reap.
    """
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    removed = []

    def remove(what: str, fn) -> None:
        removed.append(what)
        if dry_run:
            return
        try:
            fn()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if not _gone_or_going(exc):
                log.warning("could not remove %s (left for the next reap): %s", what, exc)

    try:
        containers = client.containers.list(all=True, filters=filters, ignore_removed=True)
    except docker.errors.APIError as exc:
        log.warning("could not list containers labelled %s: %s", labels, exc)
        containers = []
    for c in containers:
        remove(f"container {c.name}", lambda c=c: c.remove(force=True, v=True))
    for kind, collection in (("volume", client.volumes), ("network", client.networks)):
        try:
            objs = collection.list(filters=filters)
        except docker.errors.APIError as exc:
            log.warning("could not list %ss labelled %s: %s", kind, labels, exc)
            continue
        for o in objs:
            if kind == "volume":
                remove(f"volume {o.name}", lambda o=o: o.remove(force=True))
            else:
                remove(f"network {o.name}", o.remove)
    return removed
