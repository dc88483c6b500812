"""Server-rendered web UI (Jinja2 + HTMX) over the same repositories and services as the JSON API.

Every read goes through a repository with the acting principal. Templates autoescape everything;
document text is never marked safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, File, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal, Unauthenticated
from legalai.analysis.endpoints import analysis_body
from legalai.analysis.service import analysis_state
from legalai.audit.endpoints import audit_request
from legalai.documents.endpoints import audit_document_view, document_out, documents_out, upload_into_matter
from legalai.documents.extraction.detect import SUPPORTED_KINDS_DESCRIPTION
from legalai.documents.repository import DocumentRepository
from legalai.documents.service import FileOutcome
from legalai.kit.deps import DbSession, PrincipalDep, RuntimeDep
from legalai.kit.errors import Conflict, DomainError
from legalai.kit.schemas import MAX_OFFSET
from legalai.matters.endpoints import create_audited_matter
from legalai.matters.repository import MatterRepository
from legalai.matters.schemas import MatterCreate
from legalai.search.lexical import SearchFilters, search
from legalai.search.query import MAX_QUERY_CHARS
from legalai.web import presenters as p

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TABLE_PAGE = 200
SEARCH_PAGE = 20
MAX_SEARCH_OFFSET = 10_000


def _asset_version() -> str:
    digest = hashlib.sha256()
    for name in ("app.css", "app.js"):
        path = STATIC_DIR / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _csrf_token(request: Request) -> str:
    web_session = getattr(request.state, "web_session", None)
    return str(web_session.csrf_token) if web_session is not None else ""


def _can_manage(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return bool(principal is not None and principal.can_manage)


def _signed_in(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return str(principal.label) if principal is not None else ""


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    version = _asset_version()
    env.globals.update(
        csrf_token=_csrf_token,
        signed_in=_signed_in,
        can_manage=_can_manage,
        static_url=lambda name: f"/static/{name}?v={version}",
        supported_kinds=SUPPORTED_KINDS_DESCRIPTION,
        max_query_chars=MAX_QUERY_CHARS,
    )
    env.filters.update(
        datetime=p.fmt_datetime,
        filesize=p.fmt_bytes,
        duration=p.fmt_ms,
        folder=p.folder,
    )
    return Jinja2Templates(env=env)


TEMPLATES = _templates()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


class HtmlRoute(APIRoute):
    """Domain errors (unknown id -> 404, ...) become a friendly HTML page instead of problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated as exc:
                if request.method == "GET":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                return render(request, "error.html", exc.status_code, title=exc.title, detail=exc.detail)
            except DomainError as exc:
                page = render(request, "error.html", exc.status_code, title=exc.title, detail=exc.detail)
                if "retry_after" in exc.extra:
                    page.headers["Retry-After"] = str(int(exc.extra["retry_after"]))
                return page

        return handle


router = APIRouter(include_in_schema=False, route_class=HtmlRoute, default_response_class=HTMLResponse)


def mount_web(app: FastAPI) -> None:
    from legalai.web.audit_views import router as audit_router
    from legalai.web.auth_views import router as auth_router

    app.include_router(auth_router)
    app.include_router(audit_router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


# ---- matters --------------------------------------------------------------------------------


def _home(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    docs = DocumentRepository(session, principal)
    matters = MatterRepository(session, principal).list_visible(limit=500)
    rows = [p.MatterRow(m, docs.counts_by_status(m.id)) for m in matters]
    return render(request, "home.html", status_code, rows=rows, form=form or {}, errors=errors or {})


@router.get("/")
def home(request: Request, session: DbSession, principal: PrincipalDep) -> HTMLResponse:
    return _home(request, session, principal)


@router.post("/matters", response_model=None)
def create_matter_form(
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    form = {"name": name, "description": description}
    try:
        matter = create_audited_matter(
            request, session, principal, MatterCreate(name=name, description=description)
        )
    except ValidationError as exc:
        return _home(request, session, principal, status_code=422, form=form, errors=p.form_errors(exc))
    except Conflict as exc:
        return _home(request, session, principal, status_code=409, form=form, errors={"name": exc.detail})
    return RedirectResponse(f"/matters/{matter.id}", status_code=303)


def _table(session: Session, principal: Principal, matter_id: str, offset: int) -> p.DocumentTable:
    repo = DocumentRepository(session, principal)
    offset = min(max(0, offset), MAX_OFFSET)
    rows, total = repo.list_in_matter(matter_id, offset=offset, limit=TABLE_PAGE)
    items = documents_out(repo, rows)
    return p.DocumentTable(matter_id, items, total, offset, TABLE_PAGE, repo.counts_by_status(matter_id))


def _matter_page(
    request: Request,
    session: Session,
    principal: Principal,
    matter_id: str,
    *,
    offset: int = 0,
    outcomes: list[FileOutcome] | None = None,
    upload_error: str | None = None,
) -> HTMLResponse:
    matter = MatterRepository(session, principal).get(matter_id)
    table = _table(session, principal, matter.id, offset)
    return render(
        request, "matter.html", matter=matter, table=table, outcomes=outcomes, upload_error=upload_error
    )


@router.get("/matters/{matter_id}")
def matter_page(
    matter_id: str, request: Request, session: DbSession, principal: PrincipalDep, offset: int = 0
) -> HTMLResponse:
    return _matter_page(request, session, principal, matter_id, offset=offset)


@router.get("/matters/{matter_id}/documents-table")
def documents_table(
    matter_id: str, request: Request, session: DbSession, principal: PrincipalDep, offset: int = 0
) -> HTMLResponse:
    matter = MatterRepository(session, principal).get(matter_id)
    return render(request, "_documents_table.html", table=_table(session, principal, matter.id, offset))


@router.post("/matters/{matter_id}/upload")
def upload_form(
    matter_id: str,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    files: Annotated[list[UploadFile | str] | None, File()] = None,
) -> HTMLResponse:
    """Fallback for browsers without JavaScript; app.js posts to the JSON API with a progress bar."""
    MatterRepository(session, principal).get(matter_id)
    # An empty file input still sends one part, without a file name.
    chosen = [f for f in files or [] if not isinstance(f, str) and f.filename]
    try:
        outcomes = upload_into_matter(session, principal, runtime, matter_id, chosen, request)
    except DomainError as exc:
        return _matter_page(request, session, principal, matter_id, upload_error=exc.detail)
    return _matter_page(request, session, principal, matter_id, outcomes=outcomes)


# ---- documents and search -------------------------------------------------------------------


@router.get("/documents/{document_id}")
def document_page(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep
) -> HTMLResponse:
    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    matter = MatterRepository(session, principal).get(doc.matter_id)
    analysis = None
    if doc.current_version_id:
        version = repo.current_version(doc)
        audit_document_view(request, session, principal, doc, version.number, via="web")
        state = analysis_state(session, principal, doc)
        if state is not None:
            analysis = analysis_body(doc, state, version.number)
    out = document_out(repo, doc)
    return render(
        request,
        "document.html",
        analysis=analysis,
        doc=out,
        matter=matter,
        pages=repo.pages(doc.current_version_id) if doc.current_version_id else [],
        parent=repo.get(doc.parent_id) if doc.parent_id else None,
        children=documents_out(repo, repo.children(doc.id)),
        pending=doc.status in p.PENDING,
        # Searchable, but analysis or vectors still to come: the page keeps refreshing itself.
        stages_pending=doc.status == "ready"
        and (out.analysis_status in p.STAGE_PENDING or out.embedding_status in p.STAGE_PENDING),
    )


@router.get("/matters/{matter_id}/search")
def search_page(
    matter_id: str,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    q: str | None = None,
    document: str = "",
    offset: int = 0,
) -> HTMLResponse:
    matter = MatterRepository(session, principal).get(matter_id)
    offset = min(max(0, offset), MAX_SEARCH_OFFSET)
    results: list[p.ResultView] = []
    error = None
    if q is not None:
        filters = SearchFilters(filename=document.strip() or None)
        try:
            hits = search(session, principal, matter.id, q, filters, limit=SEARCH_PAGE, offset=offset)
            audit_request(
                request,
                session,
                principal,
                "search",
                matter_id=matter.id,
                target_type="matter",
                target_id=matter.id,
                details={"query": q, "hits_count": len(hits), "via": "web"},
            )
            results = [p.ResultView.of(h) for h in hits]
        except DomainError as exc:
            error = exc.detail
    names, _ = DocumentRepository(session, principal).list_in_matter(matter.id, limit=500)
    return render(
        request,
        "search.html",
        matter=matter,
        q=q or "",
        document=document,
        offset=offset,
        page_size=SEARCH_PAGE,
        searched=q is not None and error is None,
        results=results,
        error=error,
        filenames=p.first_names([d.filename for d in names]),
    )


# ---- asking a matter ---------------------------------------------------------------------------


@router.get("/matters/{matter_id}/ask")
def ask_page(matter_id: str, request: Request, session: DbSession, principal: PrincipalDep) -> HTMLResponse:
    matter = MatterRepository(session, principal).get(matter_id)
    return _ask_render(request, session, principal, matter, "", "", None, None)


@router.post("/matters/{matter_id}/ask")
def ask_form(
    matter_id: str,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    question: Annotated[str, Form()] = "",
    document: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Ask from the browser (POST with the CSRF token: a generated answer may cost money)."""
    from legalai.ask.endpoints import audit_answer
    from legalai.ask.service import AskRequest

    matter = MatterRepository(session, principal).get(matter_id)
    answer, error = None, None
    try:
        answer = runtime.ask.ask(
            session, principal, matter.id, AskRequest(question, filename=document.strip() or None)
        )
        audit_answer(request, session, principal, matter.id, answer)
    except DomainError as exc:
        error = exc.detail
    return _ask_render(request, session, principal, matter, question, document, answer, error)


def _ask_render(
    request: Request,
    session: Session,
    principal: Principal,
    matter: Any,
    question: str,
    document: str,
    answer: Any,
    error: str | None,
) -> HTMLResponse:
    from legalai.ask.service import MAX_QUESTION_CHARS

    names, _ = DocumentRepository(session, principal).list_in_matter(matter.id, limit=500)
    return render(
        request,
        "ask.html",
        matter=matter,
        question=question,
        document=document,
        answer=answer.as_dict() if answer is not None else None,
        error=error,
        max_question_chars=MAX_QUESTION_CHARS,
        filenames=p.first_names([d.filename for d in names]),
    )
