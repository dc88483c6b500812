"""Import every model so ``Base.metadata`` is complete (Alembic, tests)."""

from legalai.accounts.models import (
    Organization,
)
from legalai.analysis.models import DocumentAnalysis, StoredPlaybook
from legalai.ask.models import Conversation, ConversationTurn
from legalai.documents.models import Chunk, Document, DocumentVersion, Page, ProcessingEvent
from legalai.kit.db import Base
from legalai.matters.models import Matter

__all__ = [
    "Base",
    "Chunk",
    "Conversation",
    "ConversationTurn",
    "Document",
    "DocumentAnalysis",
    "DocumentVersion",
    "Matter",
    "Organization",
    "Page",
    "ProcessingEvent",
    "StoredPlaybook",
]
