"""Probes a check makes from the grader's side (never from the student's host): HTTP GET."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from harness.core import evidence


@dataclass(frozen=True)
class HttpResult:
    url: str
    status: int | None  # None when no HTTP answer came at all
    body: str
    error: str = ""

    def __str__(self) -> str:
        return f"GET {self.url} -> {self.status if self.status is not None else self.error}"


def http_get(url: str, timeout: float = 10.0) -> HttpResult:
    """GET ``url`` with a deadline; a refused or timed-out connection is a result, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - lab hosts only
            res = HttpResult(url, resp.status, resp.read(65536).decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as exc:
        res = HttpResult(url, exc.code, exc.read(65536).decode("utf-8", errors="replace"))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        res = HttpResult(url, None, "", f"{type(reason).__name__}: {reason}")
    evidence.add(f"GET {url}", f"status: {res.status}\n{res.error}\n{res.body[:2000]}")
    return res
