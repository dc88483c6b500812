"""Readiness probes with a deadline: a dependency that hangs (a frozen S3, a server that accepts
connections and never answers) makes its probe report a timeout, never makes ``/ready`` hang.

The probes run at once, each in a thread of a small shared pool, and ``run_probes`` waits for all
of them together at most ``timeout`` seconds. A probe still running then is reported as timed out
and left to finish in the background (its own client timeouts bound it); since the pool is small
and bounded, a dependency that keeps hanging can occupy at most its threads, and later probes that
wait for a thread are reported as timed out too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

DEFAULT_TIMEOUT_SECONDS = 2.0

_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="legalai-probe")


def _result(future: Future[object], remaining: float, timeout: float) -> dict[str, str]:
    try:
        detail = future.result(timeout=max(0.0, remaining))
    except TimeoutError:
        future.cancel()  # still queued for a thread: never run it
        return {"status": "error", "detail": f"no answer within {timeout:g} s"}
    except Exception as exc:  # noqa: BLE001 - readiness reports the failure instead of raising
        return {"status": "error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "ok", **({"detail": str(detail)} if detail else {})}


def run_probes(
    probes: Mapping[str, Callable[[], object]], timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> dict[str, dict[str, str]]:
    """Run every probe concurrently; ``{name: {"status": "ok"|"error", "detail"?: ...}}`` within
    about ``timeout`` seconds whatever the probes do."""
    started = time.monotonic()
    futures = {name: _POOL.submit(probe) for name, probe in probes.items()}
    return {
        name: _result(future, timeout - (time.monotonic() - started), timeout)
        for name, future in futures.items()
    }
