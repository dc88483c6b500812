"""Summaries shared by the locustfile and run.py (standard library only: no locust, no gevent)."""

from __future__ import annotations

from collections import Counter
from typing import Any


def summarize_uploads(uploads: list[dict[str, Any]]) -> dict[str, Any]:
    """Processing outcome of the uploads acknowledged with 202 (one entry per accepted document).

    The success ratio is over the good files (broken ones are expected to fail); a good file that
    is still queued or processing when the run ends counts as not successful, and is listed."""
    good = [u for u in uploads if not u["bad"]]
    bad = [u for u in uploads if u["bad"]]
    ready = [u for u in good if u["status"] == "ready"]
    failed = [u for u in good if u["status"] == "failed"]
    return {
        "accepted": len(uploads),
        "good": len(good),
        "good_ready": len(ready),
        "good_failed": len(failed),
        "good_pending": len(good) - len(ready) - len(failed),
        "success_ratio": round(len(ready) / len(good), 4) if good else None,
        "failure_reasons": dict(Counter(u["reason"] or "?" for u in failed).most_common(10)),
        "bad": len(bad),
        "bad_failed_as_expected": sum(u["status"] == "failed" for u in bad),
        "bad_ready_unexpectedly": sum(u["status"] == "ready" for u in bad),
        "bad_pending": sum(u["status"] not in ("ready", "failed") for u in bad),
        "by_format": dict(Counter(u["format"] for u in uploads)),
    }
