"""The promises every fault drill checks, shared by the tests and bench/drills.py."""

from __future__ import annotations

from tests.drills.harness import LATENCY_BOUND_SECONDS, RECOVERY_BOUND_SECONDS, DrillReport

# Drills whose dependency /ready checks (the others must leave /ready at 200).
READY_CHECKED = {"postgres", "redis", "s3"}


def broken_promises(report: DrillReport) -> list[str]:
    found: list[str] = []
    if report.uploads_lost:
        found.append(f"{report.uploads_lost} acknowledged uploads neither ready nor failed")
    if report.duplicates:
        found.append(f"{report.duplicates} versions indexed more than once")
    bad_failures = [r for r in report.failure_reasons if _not_a_real_reason(r)]
    if bad_failures:
        found.append(f"{len(bad_failures)} uploads failed because of the outage: {bad_failures[:3]}")
    if report.server_errors:
        found.append(f"{report.server_errors} answers were 5xx other than 503, or none: {report.notes[:5]}")
    if report.unavailable_without_retry_after:
        found.append(f"{report.unavailable_without_retry_after} 503 answers without Retry-After")
    if report.over_latency_bound:
        found.append(
            f"{report.over_latency_bound} requests slower than {LATENCY_BOUND_SECONDS:.0f} s "
            f"(max {report.max_latency_seconds:.1f} s)"
        )
    if report.max_ready_latency_seconds > LATENCY_BOUND_SECONDS:
        found.append(f"/ready took {report.max_ready_latency_seconds:.1f} s")
    if report.health_failures:
        found.append(f"/health failed {report.health_failures} times")
    if report.name in READY_CHECKED and not report.ready_named_dependency:
        found.append(f"/ready did not answer 503 naming {report.dependency}: {report.ready_during_outage}")
    if report.name not in READY_CHECKED and any(not k.startswith("200") for k in report.ready_during_outage):
        found.append(f"/ready failed although nothing it checks was down: {report.ready_during_outage}")
    if report.seconds_to_recovery is None or report.seconds_to_recovery > RECOVERY_BOUND_SECONDS:
        found.append(f"no full recovery within {RECOVERY_BOUND_SECONDS:.0f} s ({report.seconds_to_recovery})")
    if report.seconds_to_drain is None:
        found.append("queued work was not all processed after recovery")
    if report.name == "redis" and report.during_outage and not report.uploads_acknowledged_during_outage:
        found.append("no upload was acknowledged while Redis was down (uploads must not need Redis)")
    return found


def _not_a_real_reason(reason: str) -> bool:
    """A failure caused by the outage rather than by the file."""
    lowered = reason.lower()
    return any(
        word in lowered
        for word in ("connection", "timeout", "timed out", "s3 ", "redis", "server closed", "refused")
    )
