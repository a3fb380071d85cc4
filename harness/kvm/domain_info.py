"""How a libvirt domain is named in messages: its name, UUID and state, never raising.

A dead connection must not hide the real error, so each of these answers something ("?",
"unknown (...)") rather than raise.
"""

from __future__ import annotations

from typing import Any

# libvirt's virDomainState numbers (kept literal so this room imports without libvirt)
_DOMAIN_STATES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}


def domain_name(domain: Any) -> str:
    """The domain's name, or "?" when libvirt cannot say."""
    try:
        return str(domain.name())
    except Exception:
        return "?"


def domain_uuid(domain: Any) -> str:
    """The domain's UUID, else its name (what keys a cache of per-domain things)."""
    try:
        return str(domain.UUIDString())
    except Exception:
        return domain_name(domain)


def domain_state(domain: Any) -> str:
    """Libvirt's state of the domain, as a word with its reason (for error messages)."""
    try:
        state, reason = domain.state()
        return f"{_DOMAIN_STATES.get(state, str(state))} (reason {reason})"
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {exc})"
