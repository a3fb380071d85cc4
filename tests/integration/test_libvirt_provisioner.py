"""The libvirt provisioner: labs run for real inside nested host VMs (L1) booted from a host image.

Slow (minutes under TCG): builds the host image once (cached by its recipe under
$LABHARNESS_CACHE/hostimage/), then runs through ``labctl validate --image`` one Docker lab
(volumes: containers and volumes, no image builds, half the time of dockerfile under TCG) and one
KVM lab (disk_images), one L1 host each, and expects full marks; then a deliberately broken copy of the image (libvirtd removed) must make the
KVM lab ERROR with a reason that names libvirtd, and leave nothing behind.

The fast tests at the top check the pieces that need no VM (domain XML, names, save-image headers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.core.lab import Role
from harness.provisioners import libvirt as lv
from harness.provisioners.libvirt import templates

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- no VM needed


def _spec(**kw) -> lv.L1Spec:
    base = dict(name="lh-r1-lab-kvm01", hostname="kvm01", roles=(Role.KVM_HOST,), domain_type="qemu",
                disk="/p/o.qcow2", kernel="/i/vmlinuz", initrd="/i/initrd.img", mac="52:54:00:01:02:03",
                ip="10.211.5.10/24", gateway="10.211.5.1", peers=(("kvm01", "10.211.5.10"), ("kvm02", "10.211.5.11")),
                network="lh_r1_lab", memory_mib=1536, vcpus=2, console="/p/c.log",
                metadata=(("run_id", "r1"), ("kind", lv.KIND)))
    base.update(kw)
    return lv.L1Spec(**base)


def test_domain_xml_tcg_host_has_svm_cpu_and_per_host_cmdline():
    root = ET.fromstring(lv.domain_xml(_spec()))
    assert root.get("type") == "qemu"
    assert root.find("cpu").get("mode") == "maximum"  # QEMU emulates SVM: kvm_amd loads in the L1
    assert root.find("features/tcg/tb-cache").text == str(lv.TB_CACHE_MIB)
    cmdline = root.find("os/cmdline").text
    for part in ("systemd.hostname=kvm01", "lh.ip=10.211.5.10/24", "lh.hosts=kvm01=10.211.5.10,kvm02=10.211.5.11",
                 "lh.role=kvm-host", "apparmor=0"):
        assert part in cmdline
    assert "lh.docker" not in cmdline
    md = root.find(f"metadata/{{{lv.METADATA_NS}}}run")
    assert md.get("run_id") == "r1" and md.get("kind") == lv.KIND


def test_domain_xml_kvm_host_passthrough_and_docker_disk():
    root = ET.fromstring(lv.domain_xml(_spec(domain_type="kvm", roles=(Role.DOCKER_HOST,), data_disk="/p/d.qcow2")))
    assert root.find("cpu").get("mode") == "host-passthrough"
    assert root.find("features/tcg") is None
    targets = {d.find("target").get("dev"): d.find("source").get("file") for d in root.iter("disk")}
    assert targets == {"vda": "/p/o.qcow2", "vdb": "/p/d.qcow2"}
    assert "lh.docker=/dev/vdb" in root.find("os/cmdline").text


def test_run_of_names():
    assert lv.run_of("lh_1122-1305-a1b2_gw0-dockerfile") == "1122-1305-a1b2"
    assert lv.run_of("lh_1122-1305-a1b2_lh-1122-1305-a1b2-dockerfile-docker01.qcow2") == "1122-1305-a1b2"
    assert lv.run_of("warm-0123456789abcdef.save") is None
    assert lv.run_of("default") is None


def test_clone_save_rewrites_the_header_xml_and_keeps_the_stream(tmp_path):
    xml = "<domain><name>a</name><uuid>u1</uuid></domain>"
    cookie = b"<qemu-migration/>"
    data = xml.encode() + b"\0" + cookie + b"\0"
    data += b"\0" * (4096 - len(data))
    stream = os.urandom(100_000)
    src = tmp_path / "t.save"
    src.write_bytes(lv.SAVE_HEADER.pack(lv.SAVE_MAGIC, 2, len(data), 1, 0, len(xml) + 1) + data + stream)
    new = "<domain><name>clone-with-a-longer-name</name><uuid>u2</uuid></domain>"
    templates.clone_save(str(src), str(tmp_path / "c.save"), new)
    out = (tmp_path / "c.save").read_bytes()
    magic, version, dlen, running, comp, cookie_off = lv.SAVE_HEADER.unpack(out[:lv.SAVE_HEADER.size])
    body = out[lv.SAVE_HEADER.size:lv.SAVE_HEADER.size + dlen]
    assert (magic, version, dlen, running) == (lv.SAVE_MAGIC, 2, 4096, 1)
    assert body.split(b"\0", 1)[0].decode() == new
    assert body[cookie_off:].split(b"\0", 1)[0] == cookie
    assert out[lv.SAVE_HEADER.size + dlen:] == stream
    with pytest.raises(ValueError, match="does not fit"):
        templates.clone_save(str(src), str(tmp_path / "x.save"), "<domain>" + "x" * 5000 + "</domain>")


def test_clone_xml_renames_and_repoints_everything():
    tpl = lv.domain_xml(_spec(name="lh-r0-warm-1", roles=(Role.DOCKER_HOST,), data_disk="/p/warm.docker.qcow2",
                             disk="/p/warm.qcow2", network="lh_r0_lab"))
    tpl = tpl.replace("<name>", "<uuid>00000000-0000-0000-0000-000000000000</uuid><name>", 1)
    spec = _spec(name="lh-r1-lab-docker01", hostname="docker01", network="lh_r1_lab", mac="52:54:00:aa:bb:cc",
                 metadata=(("run_id", "r1"), ("kind", lv.KIND), ("host", "docker01")))
    root = ET.fromstring(templates.clone_xml(tpl, spec, "/p/clone.qcow2", "/p/clone.docker.qcow2"))
    assert root.find("name").text == "lh-r1-lab-docker01"
    assert root.find("uuid").text != "00000000-0000-0000-0000-000000000000"
    disks = {d.find("target").get("dev"): d.find("source").get("file") for d in root.iter("disk")}
    assert disks == {"vda": "/p/clone.qcow2", "vdb": "/p/clone.docker.qcow2"}
    iface = root.find("devices/interface")
    assert iface.find("source").get("network") == "lh_r1_lab"
    assert iface.find("mac").get("address") == "52:54:00:aa:bb:cc"
    assert iface.find("link").get("state") == "down"
    assert root.find(f"metadata/{{{lv.METADATA_NS}}}run").get("host") == "docker01"


# --------------------------------------------------------------------------- real L1 hosts


def _libvirt_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (image build, libvirt qemu:///system)")
    try:
        lv.check_hypervisors(None)
    except Exception as exc:
        pytest.skip(f"no libvirt here: {exc}")


@pytest.fixture(scope="module")
def host_image():
    """The host image of the current recipe (built once, then cached) and its docker-data disk."""
    _libvirt_or_skip()
    from harness.provisioners.libvirt import hostimage

    img = hostimage.build(say=lambda m: print(m, file=sys.stderr))
    hostimage.docker_data(say=lambda m: print(m, file=sys.stderr))
    return img


def _validate(image: str, labs: list[str], report_dir: Path, run_id: str, timeout: float = 3000) -> tuple[int, dict, str]:
    """``labctl validate --image IMAGE --labs ...`` in a subprocess: rc, grades.json, output.

    One L1 per lab, the labs side by side (``-j``): two busy L1s share 2 cores well (notes/nested.md)."""
    args = [sys.executable, "-m", "harness.cli", "validate", "--image", image, "--labs", ",".join(labs),
            "--report-dir", str(report_dir), "--run-id", run_id, "-j", str(len(labs))]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    grades_file = report_dir / run_id / "grades.json"
    grades = json.loads(grades_file.read_text()) if grades_file.is_file() else {}
    return proc.returncode, grades, proc.stdout[-6000:] + proc.stderr[-3000:]


def _labs(grades: dict) -> dict[str, dict]:
    """grades.json: targets -> {name: {labs: {lab: {checks: [...]}}}}."""
    return {name: lab for t in grades.get("targets", {}).values() for name, lab in t.get("labs", {}).items()}


def _checks(grades: dict) -> list[dict]:
    return [c for lab in _labs(grades).values() for c in lab.get("checks", [])]


def _leftovers(run_id: str) -> list[str]:
    hv = lv.Hypervisor(lv.DEFAULT_URI)
    try:
        return lv.remove_run(hv, run_id, dry_run=True)
    finally:
        hv.close()


@pytest.mark.slow
def test_docker_and_kvm_labs_reach_full_marks_in_l1_hosts(host_image, tmp_path):
    run_id = f"lvit-{os.getpid() % 100000}"
    rc, grades, out = _validate(str(host_image.dir), ["volumes", "disk_images"], tmp_path, run_id)
    checks = _checks(grades)
    bad = [f"{c['lab']}::{c['check']} {c['outcome']}: {c['message'][:300]}" for c in checks if c["outcome"] != "PASS"]
    assert rc == 0 and checks and not bad, f"rc={rc}\n" + "\n".join(bad) + f"\n{out}"
    labs = _labs(grades)
    assert set(labs) == {"volumes", "disk_images"}
    assert host_image.recipe[:16] in grades["environment"]["host_image"]
    assert grades["provisioner"] == "libvirt"
    assert _leftovers(run_id) == []


def _without_libvirtd(image, dest: Path):
    """A copy of the image whose /usr/sbin/libvirtd is gone (debugfs on a raw copy: no mounts).
    ``dest`` must be reachable by libvirt's qemu user (not under pytest's 0700 tmp_path)."""
    dest.mkdir()
    raw = dest / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(image.disk), str(raw)], check=True)
    subprocess.run(["debugfs", "-w", "-R", "rm /usr/sbin/libvirtd", str(raw)], check=True, capture_output=True)
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(dest / "disk.qcow2")], check=True)
    raw.unlink()
    for f in ("vmlinuz", "initrd.img"):
        shutil.copy2(image.dir / f, dest / f)
    manifest = dict(image.manifest, recipe="broken-" + image.recipe[:9], omit=["/usr/sbin/libvirtd (deleted)"])
    (dest / "manifest.json").write_text(json.dumps(manifest))
    os.chmod(dest, 0o755)
    return dest


@pytest.mark.slow
def test_broken_image_errors_the_kvm_lab_with_the_reason_and_leaves_nothing(host_image, tmp_path):
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="lh-broken-image-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    broken = _without_libvirtd(host_image, work / "image")
    run_id = f"lvbr-{os.getpid() % 100000}"
    try:
        rc, grades, out = _validate(str(broken), ["disk_images"], tmp_path / "reports", run_id, timeout=1800)
        assert rc != 0, out
        checks = _checks(grades)
        assert checks, out
        assert all(c["outcome"] in ("ERROR", "FAIL") for c in checks), [(c["check"], c["outcome"]) for c in checks]
        errors = [c["message"] for c in checks if c["outcome"] == "ERROR"]
        assert errors and all("libvirtd" in m for m in errors), errors[:2]
        assert "broken-" in grades["environment"]["host_image"]
        assert _leftovers(run_id) == []
    finally:
        lv.reap(run_id=run_id)
        shutil.rmtree(work, ignore_errors=True)
