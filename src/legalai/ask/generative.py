"""Answers written by an AI provider, checked statement by statement before they are shown."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.ai.errors import AIError
from legalai.ai.gateway import CallContext
from legalai.ai.protocol import ChatRequest, ChatResult, Message, QuotedDocument
from legalai.ai.redaction import Redactor, span_redactor
from legalai.analysis.repository import AnalysisRepository
from legalai.ask.models import Conversation
from legalai.ask.verify import ClaimedCitation, PageSource, unknown_legal_citations, verify_statements
from legalai.retrieval.hybrid import Passage

if TYPE_CHECKING:
    from legalai.ask.service import Answer, AskService

MAX_ANSWER_TOKENS = 1200


class GenerationFailed(Exception):
    def __init__(self, reason: str, cause: AIError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


def build_request(question: str, passages: list[Passage], history: list[tuple[str, str]]) -> ChatRequest:
    from legalai.ask.service import ANSWER_SCHEMA, SYSTEM_PROMPT

    documents = [
        QuotedDocument(id=f"P{i}", text=p.text, label=f"{p.filename}, page {p.page}")
        for i, p in enumerate(passages, start=1)
    ]
    messages: list[Message] = []
    for asked, said in history:
        messages.append(Message("user", asked))
        messages.append(Message("assistant", said))
    messages.append(Message("user", question))
    return ChatRequest(
        system=SYSTEM_PROMPT,
        messages=messages,
        documents=documents,
        json_schema=ANSWER_SCHEMA,
        max_tokens=MAX_ANSWER_TOKENS,
        temperature=0.0,
        purpose="ask",
    )


def personal_data_redactor(session: Session, principal: Principal, document_ids: set[str]) -> Redactor:
    """Redacts what the analysis found as personal data in these documents (names, addresses,
    numbers...), then the pattern-based redactor; used only when the matter's policy asks for it."""
    analyses = AnalysisRepository(session, principal)
    values = []
    for document_id in sorted(document_ids):
        analysis = analyses.for_document(document_id)
        for item in (analysis.result or {}).get("personal_data", []) if analysis is not None else []:
            text = str((item.get("span") or {}).get("text", "")).strip()
            if len(text) >= 3:
                values.append(text)
    return span_redactor(values)


def generate(
    service: AskService,
    session: Session,
    principal: Principal,
    matter_id: str,
    question: str,
    passages: list[Passage],
    conversation: Conversation | None,
    *,
    stream: bool = False,
) -> Generator[tuple[str, Any], None, Answer]:
    gateway = service.gateway
    assert gateway is not None
    request = build_request(question, passages, service.history(session, conversation))
    context = CallContext(
        principal.organization_id,
        matter_id,
        principal.user_id,
        "ask",
        redactor=personal_data_redactor(session, principal, {p.document_id for p in passages}),
    )
    try:
        if stream:
            chat_stream = gateway.stream_chat(request, context=context)
            try:
                for delta in chat_stream:
                    yield "delta", delta
                result: ChatResult = chat_stream.read()
            finally:
                chat_stream.close()
        else:
            result = gateway.chat(request, context=context)
    except AIError as exc:
        raise GenerationFailed(exc.message, exc) from exc
    return check_answer(service, session, principal, matter_id, question, passages, result)


def check_answer(
    service: AskService,
    session: Session,
    principal: Principal,
    matter_id: str,
    question: str,
    passages: list[Passage],
    result: ChatResult,
) -> Answer:
    """The model's statements through the verification gate."""
    from legalai.ask.service import GENERATED_LABEL, Answer, CitationOut, StatementOut, _passage_out

    by_id = {f"P{i}": p for i, p in enumerate(passages, start=1)}
    data = result.data if isinstance(result.data, dict) else {}
    raw = [s for s in data.get("statements", []) if isinstance(s, dict)]
    claims: list[tuple[str, list[ClaimedCitation]]] = []
    for s in raw:
        cites = []
        for c in s.get("citations", []):
            passage = by_id.get(str(c.get("passage", "")).strip())
            if passage is not None:  # an id we did not give cannot be verified
                cites.append(ClaimedCitation(passage.document_id, passage.page, str(c.get("quote", ""))))
        claims.append((str(s.get("text", "")).strip(), cites))
    checked = verify_statements(PageSource(session, principal, matter_id), claims)
    known = service.known_citations(session, principal, matter_id)
    statements: list[StatementOut] = []
    unsupported: list[StatementOut] = []
    flagged_all: list[str] = []
    for c in checked:
        flagged = unknown_legal_citations(c.text, known)
        flagged_all.extend(f for f in flagged if f not in flagged_all)
        out = StatementOut(
            text=c.text,
            citations=[
                CitationOut(v.document_id, v.filename, v.page, v.start, v.end, v.quote) for v in c.citations
            ],
            supported=c.supported,
            flagged_citations=flagged,
        )
        (statements if c.supported else unsupported).append(out)
    notice = None
    if not raw:
        notice = "The documents retrieved do not answer this question."
    elif unsupported:
        notice = (
            f"{len(unsupported)} of {len(checked)} statements were withheld: their quotes were not found "
            "in the cited pages."
        )
    return Answer(
        question=question,
        mode="generated",
        label=GENERATED_LABEL.format(provider=result.provider, model=result.model),
        statements=statements,
        unsupported=unsupported,
        verified_statements=len(statements),
        total_statements=len(checked),
        passages=[_passage_out(p) for p in passages],
        provider=result.provider,
        model=result.model,
        notice=notice,
        flagged_citations=flagged_all,
    )
