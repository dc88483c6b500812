"""The AI gateway: the one way the application talks to AI providers.

For every call, in order:

1. the matter's egress policy picks which providers of the ordered chain may be used (``local_only``,
   the default: only providers that keep text on this machine); none left: :class:`EgressDenied`
   before any network;
2. personal data is redacted from the request when the policy says so and the provider is not local;
3. the response cache is looked up (a hit makes no call and is recorded as cached, at no cost);
4. budgets are checked against an estimate (prompt tokens + ``max_tokens``): over budget,
   :class:`BudgetExceeded` and no call;
5. the provider's circuit breaker is asked, and the call is made inside the one retry loop;
6. usage (tokens, cost) is recorded per call, and every request that left the machine gets an
   egress log row (provider, model, destination, byte count and sha256 of the body sent);
7. a failure moves on to the next allowed provider; when none answers, :class:`AllProvidersFailed`
   lists each one's reason (or, when they all failed the same telling way, that error: e.g.
   :class:`GenerationUnavailable` when only the offline provider is allowed).

Structured output: a request with ``json_schema`` gets a reply parsed and validated against it;
an invalid reply is retried once with the validation errors shown to the model, then
:class:`SchemaViolation`. Never a half-parsed answer.

The gateway writes usage, egress and cache rows in its own short transactions (``sessions``), so
they persist even if the caller's transaction rolls back. On SQLite, do not hold a write
transaction open while calling the gateway (SQLite has a single writer).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from legalai.ai.accounting import Price, UsageSummary, check_budgets, organization_budget, usage_summary
from legalai.ai.cache import DatabaseResponseCache, NullCache, RedisResponseCache, ResponseCache, cache_key
from legalai.ai.errors import (
    AIError,
    AllProvidersFailed,
    BudgetExceeded,
    ContextLengthExceeded,
    EgressDenied,
    GenerationUnavailable,
    ProviderError,
    ProviderFailure,
    SchemaViolation,
)
from legalai.ai.models import AIUsage, EgressLogEntry
from legalai.ai.policy import EffectivePolicy, load_policy
from legalai.ai.protocol import (
    ChatRequest,
    ChatResult,
    ChatStream,
    EmbeddingResult,
    Message,
    Provider,
    QuotedDocument,
    body_digest,
    render_prompt,
)
from legalai.ai.provider_offline import OfflineProvider
from legalai.ai.providers import Embedder, build_providers
from legalai.ai.redaction import Redactor, redact_personal_data
from legalai.ai.resilience import (
    BreakerConfig,
    CircuitBreaker,
    Clock,
    MemoryBreakerBackend,
    Permit,
    RedisBreakerBackend,
    RetryPolicy,
    Sleep,
    retry_call,
)
from legalai.ai.schema import InvalidOutput, check_schema, parse_and_validate
from legalai.kit.db import transaction
from legalai.observability.logging import get_logger
from legalai.settings import AIProviderConfig, Settings

log = get_logger(__name__)
T = TypeVar("T")
_DONE = object()
# The part of an invalid reply shown back to the model when asking for a repair.
_REPAIR_ECHO_CHARS = 8_000
# Failures that say something about the request itself: when every provider fails this same way,
# the caller gets that error rather than a list.
_TELLING = (GenerationUnavailable, BudgetExceeded, SchemaViolation, ContextLengthExceeded)


@dataclass(frozen=True)
class CallContext:
    """Who asks, for which matter, and why. ``redactor`` overrides the gateway's default one (the
    ask service passes one built from the analysis' personal-data findings)."""

    organization_id: str
    matter_id: str | None
    user_id: str | None = None
    purpose: str | None = None
    redactor: Redactor | None = None


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    model: str
    kind: str
    local: bool
    destination: str


def _outcome(exc: AIError) -> str:
    if isinstance(exc, ProviderError):
        return exc.kind
    return type(exc).__name__[:32]


class AIGateway:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        redis: Any = None,
        providers: Sequence[Provider] | None = None,
        offline_embedder: Embedder | None = None,
        redactor: Redactor = redact_personal_data,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        owns_redis: bool = False,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.redis = redis
        self._owns_redis = owns_redis
        self.providers: list[Provider] = (
            list(providers)
            if providers is not None
            else build_providers(settings.ai_providers, offline_embedder=offline_embedder)
        )
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError(f"AI provider names must be unique: {names}")
        self._configs: dict[str, AIProviderConfig] = {c.name: c for c in settings.ai_providers}
        self.redactor = redactor
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # jitter, not security
        self.timeout = settings.ai_timeout_seconds
        self.retry = RetryPolicy(
            max_attempts=settings.ai_max_attempts,
            backoff_base=settings.ai_backoff_base_seconds,
            backoff_max=settings.ai_backoff_max_seconds,
            retry_after_max=settings.ai_retry_after_max_seconds,
        )
        breaker_config = BreakerConfig(
            failures=settings.ai_breaker_failures,
            window=settings.ai_breaker_window_seconds,
            cooldown=settings.ai_breaker_cooldown_seconds,
            probe_ttl=settings.ai_timeout_seconds * 2 + 5,
        )
        namespace = settings.redis_namespace
        backend = (
            RedisBreakerBackend(redis, namespace, breaker_config)
            if redis is not None
            else MemoryBreakerBackend(breaker_config)
        )
        self.breaker = CircuitBreaker(backend, clock=clock)
        self.cache: ResponseCache
        if settings.ai_cache_ttl_seconds <= 0:
            self.cache = NullCache()
        elif redis is not None:
            self.cache = RedisResponseCache(redis, namespace, settings.ai_cache_ttl_seconds)
        else:
            self.cache = DatabaseResponseCache(sessions, settings.ai_cache_ttl_seconds)

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker[Session], **kwargs: Any) -> AIGateway:
        """A gateway with its own Redis client when ``settings.redis_url`` is set."""
        if settings.redis_url and "redis" not in kwargs:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # Fail fast: an unreachable Redis makes breakers fail open and the cache miss, at once.
            client = redis.Redis.from_url(
                settings.redis_url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 1)
            )
            return cls(settings, sessions, redis=client, owns_redis=True, **kwargs)
        return cls(settings, sessions, **kwargs)

    def close(self) -> None:
        for provider in self.providers:
            provider.close()
        if self._owns_redis and self.redis is not None:
            self.redis.close()

    # ---- what a matter may use ------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        for p in self.providers:
            if p.name == name:
                return p
        raise KeyError(name)

    def info(self, provider: Provider) -> ProviderInfo:
        config = self._configs.get(provider.name)
        kind = config.kind if config is not None else type(provider).__name__
        return ProviderInfo(provider.name, provider.model, kind, provider.is_local, provider.destination)

    def policy(self, context: CallContext) -> EffectivePolicy:
        with self.sessions() as session:
            return load_policy(session, context.organization_id, context.matter_id)

    def allowed_providers(self, context: CallContext) -> list[ProviderInfo]:
        """The providers this matter's policy allows, in fallback order."""
        return [self.info(p) for p in self.policy(context).filter(self.providers)]

    def can_generate(self, context: CallContext) -> bool:
        """Whether any allowed provider generates text (else answer extractively, offline)."""
        return any(not self._is_offline(p) for p in self.policy(context).filter(self.providers))

    def count_tokens(self, text: str, provider: str | None = None) -> int:
        return (self.provider(provider) if provider else self.providers[0]).count_tokens(text)

    def usage(self, organization_id: str, matter_id: str | None = None) -> UsageSummary:
        with self.sessions() as session:
            return usage_summary(session, organization_id, matter_id)

    def _plan(self, context: CallContext) -> tuple[EffectivePolicy, list[Provider]]:
        policy = self.policy(context)
        allowed = policy.filter(self.providers)
        if not allowed:
            configured = ", ".join(p.name for p in self.providers) or "none"
            detail = (
                "only providers that keep text on this machine"
                if policy.mode == "local_only"
                else f"only {', '.join(policy.allowed_providers) or 'no providers'}"
            )
            raise EgressDenied(
                f"This matter's AI policy ({policy.mode}) allows {detail}, and none of the configured "
                f"providers ({configured}) qualifies. Nothing was sent."
            )
        return policy, allowed

    # ---- chat -----------------------------------------------------------------------------------

    def chat(self, request: ChatRequest, *, context: CallContext) -> ChatResult:
        if request.json_schema is not None:
            check_schema(request.json_schema)
        policy, providers = self._plan(context)
        failures: list[ProviderFailure] = []
        for provider in providers:
            try:
                return self._chat_with(provider, request, context, policy)
            except AIError as exc:
                failures.append(self._failed(provider, exc))
        raise self._final(failures)

    def _chat_with(
        self, provider: Provider, request: ChatRequest, context: CallContext, policy: EffectivePolicy
    ) -> ChatResult:
        if self._is_offline(provider):
            return provider.chat(request, self.timeout)  # raises GenerationUnavailable
        prepared, redacted = self._prepare(request, provider, policy, context)
        key = cache_key(prepared, provider=provider.name, model=provider.model, matter_id=context.matter_id)
        hit = self.cache.get(key, context.matter_id)
        if hit is not None:
            self._record_usage(
                provider,
                context,
                prepared.purpose,
                "chat",
                hit.input_tokens,
                hit.output_tokens,
                0.0,
                cached=True,
            )
            return hit
        result = self._chat_once(provider, prepared, context, policy, redacted)
        schema = prepared.json_schema
        if schema is not None:
            try:
                result = replace(result, data=parse_and_validate(result.text, schema))
            except InvalidOutput as first:
                repair = replace(
                    prepared,
                    messages=[
                        *prepared.messages,
                        Message("assistant", result.text[:_REPAIR_ECHO_CHARS]),
                        Message("user", _repair_prompt(first.errors)),
                    ],
                )
                log.info(
                    "ai.schema_repair", provider=provider.name, model=provider.model, errors=first.errors[:5]
                )
                second = self._chat_once(provider, repair, context, policy, redacted)
                try:
                    data = parse_and_validate(second.text, schema)
                except InvalidOutput as again:
                    raise SchemaViolation(
                        f"{provider.name} ({provider.model}) answered twice without matching the required "
                        f"JSON schema: {'; '.join(again.errors[:3])}",
                        errors=again.errors,
                        provider=provider.name,
                        model=provider.model,
                    ) from None
                result = replace(
                    second,
                    data=data,
                    input_tokens=result.input_tokens + second.input_tokens,
                    output_tokens=result.output_tokens + second.output_tokens,
                )
        self.cache.put(key, result, organization_id=context.organization_id, matter_id=context.matter_id)
        return result

    def _reserve(
        self, provider: Provider, request: ChatRequest, context: CallContext, policy: EffectivePolicy
    ) -> tuple[Price, int]:
        """Price and estimated input tokens of a chat call, after the budget check (no call when over)."""
        price = self._price(provider)
        needed_in = provider.count_tokens(render_prompt(request).text)
        self._check_budget(
            provider,
            context,
            policy,
            needed_in + request.max_tokens,
            price.chat_cost(needed_in, request.max_tokens),
        )
        return price, needed_in

    def _chat_once(
        self,
        provider: Provider,
        request: ChatRequest,
        context: CallContext,
        policy: EffectivePolicy,
        redacted: bool,
    ) -> ChatResult:
        price, _needed_in = self._reserve(provider, request, context, policy)
        result = self._call(
            provider,
            lambda: provider.chat(request, self.timeout),
            body=provider.chat_body(request),
            operation="chat",
            context=context,
            purpose=request.purpose,
            redacted=redacted,
        )
        cost = price.chat_cost(result.input_tokens, result.output_tokens)
        self._record_usage(
            provider, context, request.purpose, "chat", result.input_tokens, result.output_tokens, cost
        )
        return result

    # ---- streaming ------------------------------------------------------------------------------

    def stream_chat(self, request: ChatRequest, *, context: CallContext) -> ChatStream:
        """Stream an answer. Every gate runs, and the provider is called with retries and fallback,
        *before* this returns: until the first delta arrives a failure moves on to the next provider,
        so errors (egress, budget, all failed) are raised here, not mid-stream. A failure after the
        first delta raises from the iteration. With a schema, the full text is validated at the end
        (:class:`SchemaViolation`, no repair: the text has been shown)."""
        if request.json_schema is not None:
            check_schema(request.json_schema)
        policy, providers = self._plan(context)
        failures: list[ProviderFailure] = []
        for provider in providers:
            try:
                if self._is_offline(provider):
                    return provider.stream_chat(request, self.timeout)  # raises GenerationUnavailable
                prepared, redacted = self._prepare(request, provider, policy, context)
                key = cache_key(
                    prepared, provider=provider.name, model=provider.model, matter_id=context.matter_id
                )
                hit = self.cache.get(key, context.matter_id)
                if hit is not None:
                    self._record_usage(
                        provider,
                        context,
                        prepared.purpose,
                        "stream",
                        hit.input_tokens,
                        hit.output_tokens,
                        0.0,
                        cached=True,
                    )
                    return ChatStream(_replay(hit))
                return self._open_stream(provider, prepared, key, context, policy, redacted)
            except AIError as exc:
                failures.append(self._failed(provider, exc))
        raise self._final(failures)

    def _open_stream(
        self,
        provider: Provider,
        request: ChatRequest,
        key: str,
        context: CallContext,
        policy: EffectivePolicy,
        redacted: bool,
    ) -> ChatStream:
        price, needed_in = self._reserve(provider, request, context, policy)

        def open_and_peek() -> tuple[ChatStream, Any]:
            stream = provider.stream_chat(request, self.timeout)
            try:
                return stream, next(stream, _DONE)
            except BaseException:
                stream.close()
                raise

        stream, first = self._call(
            provider,
            open_and_peek,
            body=provider.chat_body(request, stream=True),
            operation="stream",
            context=context,
            purpose=request.purpose,
            redacted=redacted,
        )
        recorded = threading.Event()
        parts: list[str] = []

        def record(result: ChatResult | None) -> None:
            if recorded.is_set():
                return
            recorded.set()
            if result is None:  # abandoned: the provider still did the work, estimate it
                result = ChatResult(
                    "".join(parts),
                    input_tokens=needed_in,
                    output_tokens=provider.count_tokens("".join(parts)),
                )
            cost = price.chat_cost(result.input_tokens, result.output_tokens)
            self._record_usage(
                provider, context, request.purpose, "stream", result.input_tokens, result.output_tokens, cost
            )

        def deltas() -> Generator[str, None, ChatResult]:
            if first is not _DONE:
                parts.append(first)
                yield first
            try:
                for piece in stream:
                    parts.append(piece)
                    yield piece
            except ProviderError as exc:
                if exc.retryable:
                    self.breaker.record_failure(Permit(self.breaker.key(provider.name, provider.model)))
                log.warning(
                    "ai.stream_failed", provider=provider.name, model=provider.model, error=exc.message
                )
                record(None)
                raise
            result = stream.result or ChatResult("".join(parts), provider=provider.name, model=provider.model)
            record(result)
            if request.json_schema is not None:
                try:
                    result = replace(result, data=parse_and_validate(result.text, request.json_schema))
                except InvalidOutput as bad:
                    raise SchemaViolation(
                        f"{provider.name} ({provider.model}) streamed an answer that does not match the "
                        f"required JSON schema: {'; '.join(bad.errors[:3])}",
                        errors=bad.errors,
                        provider=provider.name,
                        model=provider.model,
                    ) from None
            self.cache.put(key, result, organization_id=context.organization_id, matter_id=context.matter_id)
            return result

        def on_close() -> None:
            stream.close()
            record(None)

        return ChatStream(deltas(), on_close=on_close)

    # ---- embeddings -----------------------------------------------------------------------------

    def embed(
        self, texts: Sequence[str], *, context: CallContext, provider: str | None = None
    ) -> EmbeddingResult:
        """Embed ``texts`` with the first allowed provider that can (or only with ``provider``: vectors
        of different models do not mix, so pin the provider when adding to a stored index)."""
        policy, providers = self._plan(context)
        if provider is not None:
            self.provider(provider)  # KeyError for a provider that is not configured
            providers = [p for p in providers if p.name == provider]
            if not providers:
                raise EgressDenied(
                    f"This matter's AI policy ({policy.mode}) does not allow {provider}; nothing was sent."
                )
        failures: list[ProviderFailure] = []
        for candidate in providers:
            try:
                return self._embed_with(candidate, list(texts), context, policy)
            except AIError as exc:
                failures.append(self._failed(candidate, exc))
        raise self._final(failures)

    def _embed_with(
        self, provider: Provider, texts: list[str], context: CallContext, policy: EffectivePolicy
    ) -> EmbeddingResult:
        redacted = False
        if policy.redact_personal_data and not provider.is_local:
            redact = context.redactor or self.redactor
            texts, redacted = [redact(t) for t in texts], True
        purpose = context.purpose or "embed"
        if self._is_offline(provider):
            return provider.embed(texts, self.timeout)
        price = self._price(provider)
        needed = sum(provider.count_tokens(t) for t in texts)
        self._check_budget(provider, context, policy, needed, price.embed_cost(needed))
        result = self._call(
            provider,
            lambda: provider.embed(texts, self.timeout),
            body=provider.embed_body(texts),
            operation="embed",
            context=context,
            purpose=purpose,
            redacted=redacted,
        )
        self._record_usage(
            provider, context, purpose, "embed", result.tokens, 0, price.embed_cost(result.tokens)
        )
        return result

    # ---- the call: breaker, retries, egress -------------------------------------------------------

    def _call(
        self,
        provider: Provider,
        invoke: Callable[[], T],
        *,
        body: dict[str, Any],
        operation: str,
        context: CallContext,
        purpose: str,
        redacted: bool,
    ) -> T:
        attempts = 0

        def attempt(number: int) -> T:
            nonlocal attempts
            permit = self.breaker.acquire(provider.name, provider.model)
            attempts += 1
            try:
                value = invoke()
            except ProviderError as exc:
                if exc.retryable:
                    self.breaker.record_failure(permit)
                else:
                    self.breaker.record_success(permit)  # it answered: it is up
                raise
            except AIError:
                self.breaker.record_success(permit)
                raise
            except BaseException:
                self.breaker.record_success(permit)  # not the provider's fault; release a probe
                raise
            self.breaker.record_success(permit)
            return value

        def on_retry(number: int, exc: AIError, wait: float) -> None:
            log.info(
                "ai.retry",
                provider=provider.name,
                model=provider.model,
                attempt=number,
                wait_seconds=round(wait, 3),
                error=exc.message,
            )

        outcome, status = "ok", None
        try:
            return retry_call(attempt, self.retry, sleep=self.sleep, rng=self.rng, on_retry=on_retry)
        except AIError as exc:
            outcome, status = _outcome(exc), getattr(exc, "status", None)
            raise
        finally:
            if attempts and not provider.is_local:
                self._log_egress(
                    provider, body, operation, context, purpose, attempts, redacted, outcome, status
                )

    # ---- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _is_offline(provider: Provider) -> bool:
        return isinstance(provider, OfflineProvider)

    def _price(self, provider: Provider) -> Price:
        config = self._configs.get(provider.name)
        if config is None:
            return Price()
        return Price(
            config.price_input_per_mtok, config.price_output_per_mtok, config.price_embedding_per_mtok
        )

    def _prepare(
        self, request: ChatRequest, provider: Provider, policy: EffectivePolicy, context: CallContext
    ) -> tuple[ChatRequest, bool]:
        purpose = context.purpose or request.purpose
        if provider.is_local or not policy.redact_personal_data:
            return replace(request, purpose=purpose), False
        redact = context.redactor or self.redactor
        return (
            replace(
                request,
                system=redact(request.system),
                messages=[Message(m.role, redact(m.content)) for m in request.messages],
                documents=[QuotedDocument(d.id, redact(d.text), redact(d.label)) for d in request.documents],
                purpose=purpose,
            ),
            True,
        )

    def _check_budget(
        self, provider: Provider, context: CallContext, policy: EffectivePolicy, tokens: int, cost: float
    ) -> None:
        with self.sessions() as session:
            org_budget = organization_budget(
                session, context.organization_id, self.settings.ai_default_org_token_budget
            )
            check_budgets(
                session,
                organization_id=context.organization_id,
                policy=policy,
                org_budget=org_budget,
                tokens_needed=tokens,
                cost_needed=cost,
                provider=provider.name,
                model=provider.model,
            )

    def _record_usage(
        self,
        provider: Provider,
        context: CallContext,
        purpose: str,
        operation: str,
        input_tokens: int,
        output_tokens: int,
        cost: float,
        *,
        cached: bool = False,
    ) -> None:
        with transaction(self.sessions) as session:
            session.add(
                AIUsage(
                    organization_id=context.organization_id,
                    matter_id=context.matter_id,
                    user_id=context.user_id,
                    provider=provider.name[:100],
                    model=provider.model[:200],
                    operation=operation,
                    purpose=(context.purpose or purpose)[:64],
                    input_tokens=max(0, int(input_tokens)),
                    output_tokens=max(0, int(output_tokens)),
                    cost_usd=0.0 if cached else float(cost),
                    cached=cached,
                    local=provider.is_local,
                )
            )

    def _log_egress(
        self,
        provider: Provider,
        body: dict[str, Any],
        operation: str,
        context: CallContext,
        purpose: str,
        attempts: int,
        redacted: bool,
        outcome: str,
        status: int | None,
    ) -> None:
        size, digest = body_digest(body)
        with transaction(self.sessions) as session:
            session.add(
                EgressLogEntry(
                    organization_id=context.organization_id,
                    matter_id=context.matter_id,
                    user_id=context.user_id,
                    provider=provider.name[:100],
                    model=str(body.get("model") or provider.model)[:200],
                    destination=provider.destination[:300],
                    operation=operation,
                    purpose=(context.purpose or purpose)[:64],
                    byte_count=size,
                    sha256=digest,
                    attempts=attempts,
                    redacted=redacted,
                    outcome=outcome[:32],
                    status=status,
                )
            )

    def _failed(self, provider: Provider, exc: AIError) -> ProviderFailure:
        log.warning(
            "ai.provider_failed",
            provider=provider.name,
            model=provider.model,
            kind=type(exc).__name__,
            error=exc.message,
        )
        return ProviderFailure(provider.name, provider.model, exc)

    def _final(self, failures: list[ProviderFailure]) -> AIError:
        kinds = {type(f.error) for f in failures}
        if len(kinds) == 1 and issubclass(next(iter(kinds)), _TELLING):
            return failures[0].error
        return AllProvidersFailed(failures)


def _repair_prompt(errors: list[str]) -> str:
    listed = "\n".join(f"- {e}" for e in errors[:10])
    return (
        "Your previous reply was rejected because it does not match the required JSON schema:\n"
        f"{listed}\n"
        "Reply again with only one JSON value that matches the schema exactly: no prose, no code fences."
    )


def _replay(result: ChatResult) -> Generator[str, None, ChatResult]:
    if result.text:
        yield result.text
    return result


def build_gateway(
    settings: Settings, sessions: sessionmaker[Session], *, offline_embedder: Embedder | None = None
) -> AIGateway:
    """The process's gateway (Runtime.ai): Redis-shared breakers and cache when Redis is configured."""
    return AIGateway.from_settings(settings, sessions, offline_embedder=offline_embedder)
