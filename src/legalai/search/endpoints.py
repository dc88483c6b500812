from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from legalai.audit.endpoints import audit_request
from legalai.kit.deps import DbSession, PrincipalDep
from legalai.search.lexical import SearchFilters, search
from legalai.search.query import MAX_QUERY_CHARS
from legalai.search.schemas import HighlightOut, SearchHitOut, SearchResults

router = APIRouter(tags=["search"])


@router.get("/matters/{matter_id}/search", response_model=SearchResults)
def search_matter(
    matter_id: str,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description='Query: words, "phrases", prefix*, -exclude, OR',
        ),
    ],
    document: Annotated[str | None, Query(description="Only this file name")] = None,
    document_id: str | None = None,
    kind: Annotated[str | None, Query(description="pdf, docx, text, html, email, image")] = None,
    path: Annotated[str | None, Query(description="Folder prefix inside uploaded archives")] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000),
) -> SearchResults:
    filters = SearchFilters(
        document_id=document_id,
        filename=document,
        kind=kind,
        path_prefix=path,
        created_from=created_from,
        created_to=created_to,
    )
    hits = search(session, principal, matter_id, q, filters, limit=limit, offset=offset)
    audit_request(
        request,
        session,
        principal,
        "search",
        matter_id=matter_id,
        target_type="matter",
        target_id=matter_id,
        details={"query": q, "hits_count": len(hits)},
    )
    return SearchResults(
        query=q,
        hits=[
            SearchHitOut(
                document_id=h.document_id,
                filename=h.filename,
                path=h.path,
                page=h.page,
                start=h.start,
                end=h.end,
                text=h.text,
                score=h.score,
                snippet=h.snippet,
                snippet_start=h.snippet_start,
                highlights=[HighlightOut(start=x.start, end=x.end) for x in h.highlights],
            )
            for h in hits
        ],
    )
