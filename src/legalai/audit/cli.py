"""`legalai audit verify`: chain what is pending, recompute every organization's hash chain and say
where it breaks, and warn when events have waited for the chainer far too long."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from legalai.audit.chainer import chain_pending
from legalai.audit.repository import organization_labels, pending_summary
from legalai.audit.service import ChainReport, VerifyReport, pending_age_seconds, verify_chain
from legalai.kit.db import make_engine, make_sessionmaker, transaction, utcnow

EXIT_INTACT, EXIT_BROKEN, EXIT_STALE_PENDING = 0, 1, 3


@dataclass(frozen=True)
class StalePending:
    """Events found pending, before this command chained them, for longer than the alert threshold."""

    organization_id: str
    count: int
    oldest_seconds: float


def format_chain(chain: ChainReport, label: str) -> str:
    pending = ""
    if chain.pending_count:
        age = chain.oldest_pending_seconds or 0.0
        pending = f"; {chain.pending_count} pending, not yet chained (oldest {age:.1f} s)"
    if chain.broken is None:
        head = f" (head seq {chain.head_seq} {chain.head_hash})" if chain.events_checked else ""
        return f"org {label}: {chain.events_checked} events, chain intact{head}{pending}"
    b = chain.broken
    return f"org {label}: BROKEN at seq {b.seq} (event {b.event_id}): {b.reason}{pending}"


def _report(
    database_url: str, organization_id: str | None, *, chain: bool, stale_after_seconds: float
) -> tuple[VerifyReport, dict[str, str], list[StalePending]]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    stale: list[StalePending] = []
    try:
        if chain:
            # What waited before we chained it tells whether a background chainer is running.
            with transaction(sessions) as session:
                now = utcnow()
                for org, (count, oldest) in pending_summary(session, organization_id).items():
                    age = pending_age_seconds(oldest, now)
                    if age > stale_after_seconds:
                        stale.append(StalePending(org, count, age))
            chain_pending(engine, wait_seconds=30.0)
        with transaction(sessions) as session:
            report = verify_chain(session, organization_id, stale_after_seconds=stale_after_seconds)
            orgs = [c.organization_id for c in report.chains]
            labels = organization_labels(session, orgs)
    finally:
        engine.dispose()
    return report, labels, stale


def verify_command(
    database_url: str | None,
    organization_id: str | None = None,
    *,
    chain: bool = True,
    stale_after_seconds: float | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Print one line per organization and return the exit code: 0 intact, 1 broken, 3 intact but
    events waited longer than ``stale_after_seconds`` to be chained (no chainer is running).

    ``database_url`` None means the configured database (LEGALAI_* settings). ``chain`` (the
    default) links pending events first, so the whole log is verified; without it, only what is
    chained is verified and pending events are counted. The head seq and hash printed for intact
    chains are what to keep elsewhere: deleting the newest events is only detectable against such
    an external record.
    """
    if database_url is None or stale_after_seconds is None:
        from legalai.settings import Settings

        settings = Settings()
        database_url = database_url or settings.resolved_database_url
        if stale_after_seconds is None:
            stale_after_seconds = settings.audit_pending_alert_seconds
    report, labels, stale = _report(
        database_url, organization_id, chain=chain, stale_after_seconds=stale_after_seconds
    )
    if not report.chains:
        echo("no audit events")

    def name(org: str) -> str:
        return labels.get(org, org)

    for chain_report in report.chains:
        echo(format_chain(chain_report, name(chain_report.organization_id)))
    for item in stale:
        echo(
            f"WARNING org {name(item.organization_id)}: {item.count} events were pending for up to "
            f"{item.oldest_seconds:.0f} s before this command chained them: "
            "is the audit chainer running (`legalai serve`, `legalai worker`)?"
        )
    still_stale = [c for c in report.chains if c.pending_stale]
    for c in still_stale:
        echo(
            f"WARNING org {name(c.organization_id)}: {c.pending_count} events still pending after "
            f"{c.oldest_pending_seconds or 0:.0f} s: not protected by the chain until a chainer links them"
        )
    if not report.intact:
        return EXIT_BROKEN
    return EXIT_STALE_PENDING if stale or still_stale else EXIT_INTACT
