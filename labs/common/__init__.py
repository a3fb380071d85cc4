"""What several labs share: one library per kind of host, imported by labs, never a lab importing another.

``docker``: reading a Docker host's state as a trainer would (inspect, find by image, port,
mount), telling "the daemon did not answer" (ERROR) from "it answered: not there" (FAIL), and
editing daemon.json by hand. ``kvm``: VMs, disks and the guest's own view on a KVM host, telling
"libvirt says there is no such VM" (FAIL) from "libvirt did not answer" (ERROR). ``centos7``: the
course's centos7 before KVM-08 as replay lines, the shared precondition of the clone and snapshots replays.
"""
