"""Opening a libvirt connection with a deadline, and the event loop its keepalives need."""

from __future__ import annotations

import functools
import threading

from harness.core.errors import HostUnreachable


@functools.cache
def libvirt_event_loop() -> bool:
    """libvirt keepalives need an event loop; run the default one in a daemon thread, once."""
    import libvirt

    # libvirt also prints every error on stderr; they reach us as exceptions already.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    try:
        libvirt.virEventRegisterDefaultImpl()
    except libvirt.libvirtError:
        return False

    def loop() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, name="libvirt-events", daemon=True).start()
    return True


LIBVIRT_OPEN_TIMEOUT = 30.0


class LibvirtOpenTimeout(HostUnreachable):
    """``libvirt.open`` got no answer in time (the daemon or the host behind a remote URI is frozen)."""


def open_libvirt(uri: str, timeout: float = LIBVIRT_OPEN_TIMEOUT):
    """``libvirt.open(uri)`` with a deadline: libvirt has none for the handshake of a remote URI, so it
    runs in a thread of its own; on the deadline ``LibvirtOpenTimeout`` is raised, and a connection
    that opens after all is closed by that thread. ``libvirt.libvirtError`` passes through."""
    import libvirt

    lock = threading.Lock()
    box: dict = {}
    done = threading.Event()

    def opener() -> None:
        try:
            conn = libvirt.open(uri)
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller
            box["exc"] = exc
        else:
            with lock:
                late = box.get("abandoned", False)
                if not late:
                    box["conn"] = conn
            if late:
                try:
                    conn.close()
                except Exception:
                    pass
        finally:
            done.set()

    threading.Thread(target=opener, name="libvirt-open", daemon=True).start()
    if not done.wait(timeout):
        with lock:
            box["abandoned"] = True
            conn = box.pop("conn", None)
        if conn is not None:
            return conn
        raise LibvirtOpenTimeout(f"libvirt at {uri} did not answer within {timeout:g}s")
    if "exc" in box:
        raise box["exc"]
    return box["conn"]
