"""AI providers behind one gateway: egress policy, redaction, cache, budgets, breakers, retries.

Callers use :class:`AIGateway` (``runtime.ai``) with a :class:`CallContext`; see ``gateway.py``.
"""

from legalai.ai.errors import (
    AIError,
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContextLengthExceeded,
    EgressDenied,
    GenerationUnavailable,
    ProviderError,
    ProviderFailure,
    SchemaViolation,
)
from legalai.ai.gateway import AIGateway, CallContext, ProviderInfo, build_gateway
from legalai.ai.protocol import (
    ChatRequest,
    ChatResult,
    ChatStream,
    EmbeddingResult,
    Message,
    Provider,
    QuotedDocument,
)
from legalai.ai.redaction import redact_personal_data, span_redactor

__all__ = [
    "AIError",
    "AIGateway",
    "AllProvidersFailed",
    "BudgetExceeded",
    "CallContext",
    "ChatRequest",
    "ChatResult",
    "ChatStream",
    "CircuitOpen",
    "ContextLengthExceeded",
    "EgressDenied",
    "EmbeddingResult",
    "GenerationUnavailable",
    "Message",
    "Provider",
    "ProviderError",
    "ProviderFailure",
    "ProviderInfo",
    "QuotedDocument",
    "SchemaViolation",
    "build_gateway",
    "redact_personal_data",
    "span_redactor",
]
