"""Follow-up stages of a ready version: analysis and embedding, each its own job.

A version is searchable (``ready``: pages, chunks and full-text index committed) as soon as it is
extracted and chunked. The same transaction creates one :class:`VersionStage` row per follow-up
stage, ``pending`` (or ``skipped`` when switched off), and the stage jobs are sent after commit.

A stage job works like the processing job: it claims its row under a lease in one UPDATE, computes
outside any transaction, and writes its result and ``done``/``failed`` in one transaction that first
checks the lease is still its own. So a stage run twice never duplicates anything (the analysis row
is replaced, vectors are written per chunk), a duplicate delivery that meets a stage under another
worker's live lease ends quietly, and a stage of a deleted or superseded version does nothing. A
failing stage is recorded with its reason and never touches the document's status.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from legalai.analysis.pipeline import PageText
from legalai.documents.models import (
    STAGE_FINISHED,
    Chunk,
    Document,
    DocumentVersion,
    Page,
    ProcessingEvent,
    ProcessingStatus,
    Stage,
    StageStatus,
    VersionStage,
)
from legalai.kit.db import after_commit, transaction, utcnow
from legalai.observability import metrics
from legalai.observability.logging import bound_contextvars, get_logger

log = get_logger(__name__)

SendStage = Callable[[str, str, str, str], None]  # (stage, version id, organization, matter)

EMBED_BATCH = 512
ANALYSIS_OFF = "Analysis is switched off on this server (LEGALAI_ANALYSIS_ENABLED=false)"
EMBEDDING_OFF = (
    "Vectors are computed when the matter is first asked (LEGALAI_RETRIEVAL_EMBED_IN_PIPELINE=false)"
)
NOTHING_TO_EMBED = "The document has no text to embed"
SUPERSEDED = "A newer version of the document replaced this one"
# The stage label in legalai_processing_stage_seconds: the names these had as steps of the processing job.
METRIC_NAMES = {Stage.analysis.value: "analyze", Stage.embedding.value: "embed"}


def create_stages(
    session: Session,
    version: DocumentVersion,
    send: SendStage | None,
    *,
    analysis: bool,
    embedding: bool,
    chunks: int,
) -> list[str]:
    """(Re)create the version's stage rows in the caller's transaction and send the pending ones
    after commit. Returns the stages left pending."""
    session.execute(delete(VersionStage).where(VersionStage.version_id == version.id))
    wanted: list[tuple[str, str | None]] = [
        (Stage.analysis.value, None if analysis else ANALYSIS_OFF),
        (
            Stage.embedding.value,
            None if embedding and chunks else (EMBEDDING_OFF if not embedding else NOTHING_TO_EMBED),
        ),
    ]
    now = utcnow()
    session.execute(
        insert(VersionStage),
        [
            {
                "version_id": version.id,
                "stage": stage,
                "organization_id": version.organization_id,
                "matter_id": version.matter_id,
                "status": StageStatus.pending.value if skip is None else StageStatus.skipped.value,
                "error": skip,
                "attempts": 0,
                "updated_at": now,
            }
            for stage, skip in wanted
        ],
    )
    pending = [stage for stage, skip in wanted if skip is None]
    if send is not None:
        for stage in pending:
            after_commit(
                session,
                functools.partial(send, stage, version.id, version.organization_id, version.matter_id),
            )
    return pending


def mark_pending(session: Session, version: DocumentVersion, stage: str) -> None:
    """Put a stage back to ``pending`` (a re-analysis); a run in progress loses its lease, so its
    result is dropped and the new job's counts."""
    found = session.execute(
        update(VersionStage)
        .where(VersionStage.version_id == version.id, VersionStage.stage == stage)
        .values(status=StageStatus.pending.value, error=None, lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(found) == 0:
        session.add(
            VersionStage(
                version_id=version.id,
                stage=stage,
                organization_id=version.organization_id,
                matter_id=version.matter_id,
                status=StageStatus.pending.value,
                attempts=0,
            )
        )
        session.flush()


def stages_of(session: Session, version_ids: Sequence[str]) -> dict[str, dict[str, VersionStage]]:
    """{version id: {stage: row}} for the given versions."""
    out: dict[str, dict[str, VersionStage]] = {}
    if not version_ids:
        return out
    for row in session.scalars(select(VersionStage).where(VersionStage.version_id.in_(list(version_ids)))):
        out.setdefault(row.version_id, {})[row.stage] = row
    return out


class StageRunner:
    """Runs one follow-up stage of one version. Needs a Runtime (settings, sessions, analysis,
    retrieval)."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime

    def run(self, stage: str, version_id: str, me: str) -> str:
        """Claim, compute, finish. Returns what happened (done, failed, skipped, busy, gone...)."""
        with bound_contextvars(stage=stage, version_id=version_id):
            claimed = self._claim(stage, version_id, me)
            if isinstance(claimed, str):
                return claimed
            started = time.perf_counter()
            try:
                if stage == Stage.analysis.value:
                    return self._analysis(claimed, me, started)
                return self._embedding(claimed, me, started)
            except BaseException as exc:
                self._release(stage, version_id, me, exc)
                raise

    # ---- claim and finish -----------------------------------------------------------------------

    def _claim(self, stage: str, version_id: str, me: str) -> DocumentVersion | str:
        now = utcnow()
        with transaction(self.rt.sessions) as session:
            row = session.get(VersionStage, (version_id, stage))
            version = session.get(DocumentVersion, version_id)
            if row is None or version is None:
                log.info("stage.skipped", reason="the version or its stage no longer exists")
                return "gone"
            if row.status in STAGE_FINISHED:
                return row.status  # a duplicate delivery, or the sweeper's re-send of finished work
            current = session.scalar(
                select(Document.current_version_id).where(Document.id == version.document_id)
            )
            if current != version_id or version.status != ProcessingStatus.ready.value:
                session.execute(
                    update(VersionStage)
                    .where(
                        VersionStage.version_id == version_id,
                        VersionStage.stage == stage,
                        VersionStage.status.in_([StageStatus.pending.value, StageStatus.running.value]),
                    )
                    .values(status=StageStatus.skipped.value, error=SUPERSEDED, lease_owner=None)
                    .execution_options(synchronize_session=False)
                )
                log.info("stage.skipped", reason="superseded")
                return "superseded"
            claimed = session.execute(
                update(VersionStage)
                .where(
                    VersionStage.version_id == version_id,
                    VersionStage.stage == stage,
                    or_(
                        VersionStage.status == StageStatus.pending.value,
                        (VersionStage.status == StageStatus.running.value)
                        & or_(VersionStage.lease_expires_at.is_(None), VersionStage.lease_expires_at < now),
                    ),
                )
                .values(
                    status=StageStatus.running.value,
                    error=None,
                    lease_owner=me[:64],
                    lease_expires_at=now + timedelta(seconds=self.rt.settings.job_lease_seconds),
                    attempts=VersionStage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(claimed) != 1:
                # Another worker holds a live lease: it finishes the stage, or the sweeper sends it
                # again once the lease has expired. Nothing to retry here.
                log.info(
                    "stage.duplicate", reason="running under another worker's lease", holder=row.lease_owner
                )
                return "busy"
            return version

    def _finish(
        self,
        session: Session,
        stage: str,
        version_id: str,
        me: str,
        status: str,
        error: str | None,
        duration_ms: float,
        message: str = "",
    ) -> None:
        session.execute(
            update(VersionStage)
            .where(VersionStage.version_id == version_id, VersionStage.stage == stage)
            .values(
                status=status, error=error, lease_owner=None, lease_expires_at=None, duration_ms=duration_ms
            )
            .execution_options(synchronize_session=False)
        )
        record_event(
            session,
            version_id,
            stage,
            "ok" if status == StageStatus.done.value else status,
            me,
            error or message,
            duration_ms,
        )
        metrics.STAGE_SECONDS.labels(METRIC_NAMES.get(stage, stage)).observe(duration_ms / 1000)
        log.info("stage.finished", status=status, ms=duration_ms)

    def _release(self, stage: str, version_id: str, me: str, exc: BaseException) -> None:
        """A transient failure: give the claim back so the retry can take it at once."""
        try:
            with transaction(self.rt.sessions) as session:
                session.execute(
                    update(VersionStage)
                    .where(
                        VersionStage.version_id == version_id,
                        VersionStage.stage == stage,
                        VersionStage.lease_owner == me[:64],
                    )
                    .values(status=StageStatus.pending.value, lease_owner=None, lease_expires_at=None)
                    .execution_options(synchronize_session=False)
                )
                record_event(session, version_id, stage, "retry", me, f"{type(exc).__name__}: {exc}"[:500])
        except Exception as release_error:  # noqa: BLE001 - the lease then simply expires
            log.warning("stage.release_failed", error=str(release_error))

    def fail_after_retries(self, stage: str, version_id: str, reason: str) -> None:
        """Transient errors exhausted the retries: the stage says why; the document stays ready."""
        with transaction(self.rt.sessions) as session:
            updated = session.execute(
                update(VersionStage)
                .where(
                    VersionStage.version_id == version_id,
                    VersionStage.stage == stage,
                    VersionStage.status.in_([StageStatus.pending.value, StageStatus.running.value]),
                )
                .values(
                    status=StageStatus.failed.value,
                    error=reason[:1000],
                    lease_owner=None,
                    lease_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(updated):
                record_event(session, version_id, stage, "failed", "", reason)

    # ---- the stages -----------------------------------------------------------------------------

    def _analysis(self, version: DocumentVersion, me: str, started: float) -> str:
        stage = Stage.analysis.value
        service = self.rt.analysis
        if not service.enabled:
            with transaction(self.rt.sessions) as session:
                if _still_ours(session, version.id, stage, me):
                    self._finish(
                        session, stage, version.id, me, StageStatus.skipped.value, ANALYSIS_OFF, _ms(started)
                    )
            return StageStatus.skipped.value
        with self.rt.sessions() as session:
            pages = [
                PageText(number, text)
                for number, text in session.execute(
                    select(Page.number, Page.text).where(Page.version_id == version.id).order_by(Page.number)
                ).all()
            ]
            # Key terms, clauses, citations, personal data, deadlines, risks: CPU work, no transaction.
            outcome = service.compute(session, version.organization_id, pages)
        with transaction(self.rt.sessions) as session:
            if not _still_ours(session, version.id, stage, me):
                log.info("stage.lease_lost")
                return "lease_lost"
            service.store(session, version, outcome)
            status = StageStatus.done.value if outcome.error is None else StageStatus.failed.value
            self._finish(
                session, stage, version.id, me, status, outcome.error, _ms(started), f"{len(pages)} pages"
            )
        return status

    def _embedding(self, version: DocumentVersion, me: str, started: float) -> str:
        stage = Stage.embedding.value
        retrieval = self.rt.retrieval
        ids: list[int] = []
        blobs: list[bytes] = []
        model: str | None = None
        error: str | None = None
        if not retrieval.embed_in_pipeline:
            error = EMBEDDING_OFF
        else:
            try:
                from legalai.retrieval.dense import encode_vectors

                embedder = retrieval.embedder()
                model = embedder.version
                with self.rt.sessions() as session:
                    rows = session.execute(
                        select(Chunk.id, Chunk.text)
                        .where(
                            Chunk.version_id == version.id,
                            or_(Chunk.embedding_model.is_(None), Chunk.embedding_model != model),
                        )
                        .order_by(Chunk.ordinal)
                    ).all()
                for lo in range(0, len(rows), EMBED_BATCH):
                    batch = rows[lo : lo + EMBED_BATCH]
                    blobs.extend(encode_vectors(embedder.embed([r.text for r in batch])))
                    ids.extend(r.id for r in batch)
            except Exception as exc:  # noqa: BLE001 - the document stays searchable; asking embeds on demand
                log.warning("stage.embed_failed", error=str(exc))
                error = f"Embedding failed: {type(exc).__name__}: {exc}"[:1000]
        with transaction(self.rt.sessions) as session:
            if not _still_ours(session, version.id, stage, me):
                log.info("stage.lease_lost")
                return "lease_lost"
            if error is None and ids:
                session.execute(
                    update(Chunk),
                    [
                        {"id": cid, "embedding": b, "embedding_model": model}
                        for cid, b in zip(ids, blobs, strict=True)
                    ],
                )
            if error is None:
                status = StageStatus.done.value
            elif error == EMBEDDING_OFF:
                status = StageStatus.skipped.value
            else:
                status = StageStatus.failed.value
            self._finish(session, stage, version.id, me, status, error, _ms(started), f"{len(ids)} chunks")
        return status


# ---- recovery -------------------------------------------------------------------------------------


def release_stage_leases(session: Session) -> int:
    """Free every running stage's lease (only for the single in-process worker at start-up)."""
    result = session.execute(
        update(VersionStage)
        .where(VersionStage.status == StageStatus.running.value)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def stale_stages(session: Session, waiting_since: datetime | None) -> list[tuple[str, str, str, str]]:
    """Stages whose job is probably lost: pending since before ``waiting_since`` (any pending one if
    None), or running under an expired (or released) lease. (stage, version id, organization, matter)."""
    now = utcnow()
    pending = VersionStage.status == StageStatus.pending.value
    if waiting_since is not None:
        pending = pending & (VersionStage.updated_at < waiting_since)
    cond = or_(
        pending,
        (VersionStage.status == StageStatus.running.value)
        & or_(VersionStage.lease_expires_at.is_(None), VersionStage.lease_expires_at < now),
    )
    rows = session.execute(
        select(
            VersionStage.stage, VersionStage.version_id, VersionStage.organization_id, VersionStage.matter_id
        )
        .where(cond)
        .order_by(VersionStage.updated_at)
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _still_ours(session: Session, version_id: str, stage: str, me: str) -> bool:
    """Lock the stage row and check our lease; the rest of the transaction then owns it."""
    renewed = session.execute(
        update(VersionStage)
        .where(
            VersionStage.version_id == version_id,
            VersionStage.stage == stage,
            VersionStage.lease_owner == me[:64],
            VersionStage.status == StageStatus.running.value,
        )
        .values(lease_owner=me[:64])
        .execution_options(synchronize_session=False)
    )
    return _rowcount(renewed) == 1


def record_event(
    session: Session,
    version_id: str,
    stage: str,
    outcome: str,
    worker: str,
    message: str = "",
    duration_ms: float | None = None,
) -> None:
    """One row of a version's processing history (claims, stages, retries, failures)."""
    session.add(
        ProcessingEvent(
            version_id=version_id,
            stage=stage,
            outcome=outcome[:16],
            worker=worker[:64],
            message=message,
            duration_ms=duration_ms,
        )
    )


def _rowcount(result: Any) -> int:
    count: int = result.rowcount
    return count


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
