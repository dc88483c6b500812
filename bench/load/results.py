"""Summaries shared by the locustfile and run.py (standard library only: no locust, no gevent)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any


def processing_seconds(doc: dict[str, Any]) -> float | None:
    """Upload to finished, from the document's own timestamps (created_at to updated_at)."""
    try:
        created = datetime.fromisoformat(str(doc["created_at"]).replace("Z", "+00:00"))
        updated = datetime.fromisoformat(str(doc["updated_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return round((updated - created).total_seconds(), 2)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        "ready_after_s": {
            "p50": _percentile([u["processing_s"] for u in ready if u.get("processing_s") is not None], 0.5),
            "p95": _percentile([u["processing_s"] for u in ready if u.get("processing_s") is not None], 0.95),
            "max": max((u["processing_s"] for u in ready if u.get("processing_s") is not None), default=None),
        },
    }
