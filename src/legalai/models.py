"""Import every model so ``Base.metadata`` is complete (Alembic, tests)."""

from legalai.accounts.models import (
    Organization,
)
from legalai.ai.models import (
    AIResponseCacheEntry,
    AIUsage,
    EgressLogEntry,
    MatterAIPolicy,
    OrganizationAIBudget,
)
from legalai.analysis.models import DocumentAnalysis, StoredPlaybook
from legalai.ask.models import Conversation, ConversationTurn, DocumentSummary
from legalai.documents.models import (
    Chunk,
    Document,
    DocumentName,
    DocumentVersion,
    Page,
    ProcessingEvent,
    VersionStage,
)
from legalai.kit.db import Base
from legalai.matters.models import Matter

__all__ = [
    "AIResponseCacheEntry",
    "AIUsage",
    "Base",
    "Chunk",
    "Conversation",
    "ConversationTurn",
    "Document",
    "DocumentAnalysis",
    "DocumentName",
    "DocumentSummary",
    "DocumentVersion",
    "EgressLogEntry",
    "Matter",
    "MatterAIPolicy",
    "Organization",
    "OrganizationAIBudget",
    "Page",
    "ProcessingEvent",
    "StoredPlaybook",
    "VersionStage",
]
