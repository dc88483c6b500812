"""Full-text search over a matter: PostgreSQL tsvector + GIN, or SQLite FTS5, behind one function.

Only current versions of documents in the principal's matter are searched. Each hit carries the
document, page and page-relative offsets of the chunk, and highlight offsets inside it, so the UI
and later answers can cite the exact span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, Select, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from legalai.accounts.principal import Principal
from legalai.documents.models import Chunk, Document
from legalai.documents.repository import DocumentFilter, SelectT, apply_filter
from legalai.matters.repository import MatterRepository
from legalai.search.query import Query, Term, parse, stem, to_fts5, to_tsquery

_WORD = re.compile(r"\w+", re.UNICODE)
SNIPPET_CHARS = 240
_fts = table("chunks_fts", column("rowid"), column("rank"))


# Search narrows by the same filter as document listing.
SearchFilters = DocumentFilter


@dataclass
class Highlight:
    start: int  # page-relative
    end: int


@dataclass
class SearchHit:
    document_id: str
    filename: str
    path: str
    page: int
    start: int  # chunk span, page-relative
    end: int
    text: str  # the chunk text
    score: float
    snippet: str
    snippet_start: int  # page-relative offset of the snippet's first character
    highlights: list[Highlight] = field(default_factory=list)
    chunk_id: int = 0


def index_chunks(session: Session, version_id: str) -> None:
    """Add a version's chunks to the full-text index (PostgreSQL does it in the generated column)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("INSERT INTO chunks_fts(rowid, text) SELECT id, text FROM chunks WHERE version_id = :v"),
            {"v": version_id},
        )


def search(
    session: Session,
    principal: Principal,
    matter_id: str,
    query_text: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> list[SearchHit]:
    return search_parsed(
        session, principal, matter_id, parse(query_text), filters, limit=limit, offset=offset
    )


def search_parsed(
    session: Session,
    principal: Principal,
    matter_id: str,
    query: Query,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
    highlight: bool = True,
) -> list[SearchHit]:
    """``search`` for a query already built (e.g. from a natural-language question); without
    ``highlight`` the hits carry no highlights (retrieval ranks, it does not display)."""
    MatterRepository(session, principal).get(matter_id)  # 404 unless visible
    flt = filters or SearchFilters()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = _postgres(query, principal, matter_id, flt, limit, offset)
    else:
        stmt = _scope(_sqlite(query), principal, matter_id, flt).limit(limit).offset(offset)
    rows = session.execute(stmt).all()
    return [_hit(row, query, highlight) for row in rows]


def _postgres(
    query: Query, principal: Principal, matter_id: str, flt: SearchFilters, limit: int, offset: int
) -> Select[Chunk, Document, float]:
    tsq = func.to_tsquery(literal_column("'english'::regconfig"), to_tsquery(query))
    tsv: ColumnElement[Any] = literal_column("chunks.tsv")
    # Three steps, so the planner cannot pick a bad order (it estimates @@ poorly and would walk
    # every chunk of the matter testing each tsvector): (1) the matter's matching chunks from the
    # GIN index, scored, materialized as narrow rows; (2) those on current versions of documents
    # passing the filters, one page of them; (3) only then the whole chunk and document rows.
    matches = (
        select(
            Chunk.id.label("chunk_id"),
            Chunk.document_id,
            Chunk.version_id,
            func.ts_rank_cd(tsv, tsq, 32).label("score"),
        )
        .where(
            tsv.op("@@")(tsq),
            Chunk.organization_id == principal.organization_id,
            Chunk.matter_id == matter_id,
        )
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    page = apply_filter(
        select(matches.c.chunk_id, matches.c.score)
        .join(
            Document,
            (Document.id == matches.c.document_id) & (Document.current_version_id == matches.c.version_id),
        )
        .where(Document.organization_id == principal.organization_id, Document.matter_id == matter_id),
        flt,
    )
    ranked = page.order_by(matches.c.score.desc(), matches.c.chunk_id).limit(limit).offset(offset).subquery()
    return (
        select(Chunk, Document, ranked.c.score)
        .join(ranked, ranked.c.chunk_id == Chunk.id)
        .join(Document, Document.id == Chunk.document_id)
        .order_by(ranked.c.score.desc(), Chunk.id)
    )


def _sqlite(query: Query) -> Select[Chunk, Document, float]:
    # bm25() is lower-is-better; FTS5's "rank" column is bm25 by default.
    score = (-_fts.c.rank).label("score")
    return (
        select(Chunk, Document, score)
        .join(_fts, _fts.c.rowid == Chunk.id)
        .where(text("chunks_fts MATCH :fts").bindparams(fts=to_fts5(query)))
        .order_by(_fts.c.rank, Chunk.id)
    )


def _scope(stmt: SelectT, principal: Principal, matter_id: str, flt: SearchFilters) -> SelectT:
    stmt = stmt.join(Document, Document.id == Chunk.document_id).where(
        Chunk.organization_id == principal.organization_id,
        Chunk.matter_id == matter_id,
        Document.organization_id == principal.organization_id,
        Document.current_version_id == Chunk.version_id,
    )
    return apply_filter(stmt, flt)


def _hit(row: Row[Chunk, Document, float], query: Query, highlight: bool = True) -> SearchHit:
    chunk, doc, score = row
    spans = highlight_spans(chunk.text, query) if highlight else []
    snippet_lo, snippet_hi = _snippet_window(chunk.text, spans)
    return SearchHit(
        document_id=doc.id,
        filename=doc.filename,
        path=doc.path,
        page=chunk.page_number,
        start=chunk.start,
        end=chunk.end,
        text=chunk.text,
        score=float(score or 0.0),
        snippet=chunk.text[snippet_lo:snippet_hi],
        snippet_start=chunk.start + snippet_lo,
        highlights=[
            Highlight(chunk.start + s, chunk.start + e)
            for s, e in spans
            if snippet_lo <= s and e <= snippet_hi
        ],
        chunk_id=chunk.id,
    )


def highlight_spans(text_: str, query: Query) -> list[tuple[int, int]]:
    """Character spans in ``text_`` matching the query's positive terms (stem-equal, or prefix)."""
    tokens = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text_)]
    stems = [stem(t[2]) for t in tokens]
    spans: list[tuple[int, int]] = []
    for term in query.positive_terms:
        spans.extend(_match_term(term, tokens, stems))
    return _merge(spans)


def _match_term(term: Term, tokens: list[tuple[int, int, str]], stems: list[str]) -> list[tuple[int, int]]:
    wanted = [stem(w) for w in term.words]
    found = []
    n = len(wanted)
    for i in range(len(tokens) - n + 1):
        if term.prefix:
            ok = tokens[i][2].startswith(term.words[0]) or stems[i].startswith(wanted[0])
        else:
            ok = all(stems[i + k] == wanted[k] for k in range(n))
        if ok:
            found.append((tokens[i][0], tokens[i + n - 1][1]))
    return found


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _snippet_window(text_: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The SNIPPET_CHARS window holding the most highlights, widened to word boundaries."""
    if len(text_) <= SNIPPET_CHARS:
        return 0, len(text_)
    best_lo, best_count = 0, -1
    for s, _e in spans or [(0, 0)]:
        lo = max(0, min(s - SNIPPET_CHARS // 4, len(text_) - SNIPPET_CHARS))
        count = sum(1 for a, b in spans if a >= lo and b <= lo + SNIPPET_CHARS)
        if count > best_count:
            best_lo, best_count = lo, count
    lo, hi = best_lo, min(len(text_), best_lo + SNIPPET_CHARS)
    while lo > 0 and not text_[lo - 1].isspace():
        lo -= 1
    while hi < len(text_) and not text_[hi].isspace():
        hi += 1
    return lo, hi
