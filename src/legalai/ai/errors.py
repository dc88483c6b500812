"""Errors of the AI layer. Every message is meant for a person and never contains an API key.

    AIError (DomainError, so the API renders any of them as problem+json)
     +-- ProviderError            a provider call failed (``retryable``, ``status``, ``retry_after``)
     +-- ContextLengthExceeded    the prompt is longer than the model accepts (never retried)
     +-- SchemaViolation          the output did not match the JSON schema, even after one repair
     +-- CircuitOpen              the provider/model is resting after repeated failures
     +-- BudgetExceeded           a matter or organization budget would be exceeded (no call made)
     +-- EgressDenied             the matter's policy allows no configured provider (no call made)
     +-- GenerationUnavailable    the provider cannot do this (offline generation, no embedding model)
     +-- AllProvidersFailed       every provider of the chain failed; ``failures`` says why, each

Messages pass through :func:`scrub`, which removes every key the providers were configured with
(registered by :func:`register_secret`) and anything shaped like a key or a bearer token, so the
text of an SDK exception can be quoted safely.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from legalai.kit.errors import DomainError

REDACTED = "[redacted]"

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
# Shapes of credentials that may show up in SDK or server messages even if not registered here.
_KEY_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),  # OpenAI and Anthropic (sk-ant-...) keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"(?i)(x-api-key|api[_-]?key|authorization)(\"?\s*[:=]\s*\"?)[^\s\"',}]+"),
)


def register_secret(value: str | None) -> None:
    """Remember a credential so that :func:`scrub` removes it from any text (short ones are ignored:
    they would redact ordinary words)."""
    if value and len(value) >= 6:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` without any registered secret, any of ``extra``, or anything shaped like a key."""
    with _SECRETS_LOCK:
        secrets = sorted({*_SECRETS, *(s for s in extra if s and len(s) >= 6)}, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern in _KEY_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class AIError(DomainError):
    status_code = 502
    title = "AI provider error"
    retryable = False

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None) -> None:
        clean = scrub(message)
        super().__init__(clean)
        self.message = clean
        self.provider = provider
        self.model = model

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ProviderError(AIError):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        # "timeout", "connection", "malformed", "http_429"...: what the egress log records as outcome.
        self.kind = kind or (f"http_{status}" if status else "error")


class ContextLengthExceeded(AIError):
    status_code = 422
    title = "Too long for the model"


class SchemaViolation(AIError):
    title = "AI output did not match the schema"

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[str] = (),
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.errors = [scrub(e) for e in errors]


class CircuitOpen(AIError):
    status_code = 503
    title = "AI provider resting"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_at: float | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.retry_at = retry_at
        # Rendered as the Retry-After header (and field) of the 503.
        self.extra["retry_after"] = retry_after_seconds(retry_after)


class BudgetExceeded(AIError):
    status_code = 429
    title = "AI budget exhausted"

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        limit: float,
        used: float,
        needed: float,
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.scope = scope
        self.limit = limit
        self.used = used
        self.needed = needed


class EgressDenied(AIError):
    status_code = 403
    title = "Not allowed to leave the machine"


class GenerationUnavailable(AIError):
    status_code = 503
    title = "AI generation unavailable"


@dataclass(frozen=True)
class ProviderFailure:
    provider: str
    model: str
    error: AIError

    @property
    def reason(self) -> str:
        return f"{self.provider}/{self.model}: {self.error.message}"


class AllProvidersFailed(AIError):
    status_code = 503
    title = "No AI provider could answer"

    def __init__(self, failures: Sequence[ProviderFailure]) -> None:
        self.failures = list(failures)
        reasons = "; ".join(f.reason for f in self.failures) or "no provider was tried"
        super().__init__(f"No AI provider could answer: {reasons}")
        if self.retryable:  # an outage: say when to try again (the 503's Retry-After)
            hints = [h for h in (_retry_hint(f.error) for f in self.failures) if h is not None]
            self.extra["retry_after"] = retry_after_seconds(min(hints) if hints else None)

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.failures]

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        """Whether trying again later may succeed (an outage), as opposed to a refusal."""
        return any(f.error.retryable for f in self.failures)


DEFAULT_RETRY_AFTER_SECONDS = 5
MAX_RETRY_AFTER_SECONDS = 300


def retry_after_seconds(hint: float | None) -> int:
    """Whole seconds for a Retry-After header: the hint rounded up, within 1..300, 5 without one."""
    if hint is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    return int(min(MAX_RETRY_AFTER_SECONDS, max(1, -(-hint // 1))))


def _retry_hint(error: AIError) -> float | None:
    if not error.retryable:
        return None
    if isinstance(error, ProviderError):
        return error.retry_after
    if isinstance(error, CircuitOpen):
        return float(error.extra["retry_after"])
    return None
