"""`legalai audit verify`: recompute every organization's hash chain and say where it breaks."""

from __future__ import annotations

from collections.abc import Callable

from legalai.audit.repository import organization_labels
from legalai.audit.service import ChainReport, VerifyReport, verify_chain
from legalai.kit.db import make_engine, make_sessionmaker, transaction


def format_chain(chain: ChainReport, label: str) -> str:
    if chain.broken is None:
        head = f" (head seq {chain.head_seq} {chain.head_hash})" if chain.events_checked else ""
        return f"org {label}: {chain.events_checked} events, chain intact{head}"
    b = chain.broken
    return f"org {label}: BROKEN at seq {b.seq} (event {b.event_id}): {b.reason}"


def _report(database_url: str, organization_id: str | None) -> tuple[VerifyReport, dict[str, str]]:
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = verify_chain(session, organization_id)
            labels = organization_labels(session, [c.organization_id for c in report.chains])
    finally:
        engine.dispose()
    return report, labels


def verify_command(
    database_url: str | None,
    organization_id: str | None = None,
    *,
    echo: Callable[[str], None] = print,
) -> int:
    """Print one line per organization and return the exit code: 0 intact, 1 broken.

    ``database_url`` None means the configured database (LEGALAI_* settings). The head seq and
    hash printed for intact chains are what to keep elsewhere: deleting the newest events is only
    detectable against such an external record.
    """
    if database_url is None:
        from legalai.settings import Settings

        database_url = Settings().resolved_database_url
    report, labels = _report(database_url, organization_id)
    if not report.chains:
        echo("no audit events")
    for chain in report.chains:
        echo(format_chain(chain, labels.get(chain.organization_id, chain.organization_id)))
    return 0 if report.intact else 1
