"""The gateway end to end: real SDKs against the fake servers, the real database (SQLite and
PostgreSQL) and, where it says so, real Redis. Every claim is checked on what reached the server
(request counts and bodies) and what was recorded (usage, egress log)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from legalai.ai.errors import (
    AllProvidersFailed,
    BudgetExceeded,
    CircuitOpen,
    ContextLengthExceeded,
    EgressDenied,
    GenerationUnavailable,
    SchemaViolation,
)
from legalai.ai.gateway import CallContext
from legalai.ai.models import AIUsage, EgressLogEntry
from legalai.ai.protocol import ChatRequest, Message, QuotedDocument, body_digest, render_prompt
from legalai.settings import AIProviderConfig
from tests.ai.conftest import (
    CLOUD_KEY,
    OFFLINE,
    FakeClock,
    GatewayFactory,
    World,
    anthropic_provider,
    local_provider,
    openai_provider,
)
from tests.fixtures.fake_llm import ContextTooLong, FakeLLM, Hang, Reply, Status

Q = ChatRequest(
    system="Answer from the documents.",
    messages=[Message("user", "What is the notice period?")],
    documents=[QuotedDocument("d1", "Either party may terminate on 30 days' notice.", "msa.pdf p.2")],
    max_tokens=100,
    purpose="ask",
)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "minLength": 1},
        "citations": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["answer", "citations"],
    "additionalProperties": False,
}


def egress(world: World, matter_id: str | None = None) -> list[EgressLogEntry]:
    with world.sessions() as session:
        stmt = (
            select(EgressLogEntry)
            .where(EgressLogEntry.organization_id == world.organization_id)
            .order_by(EgressLogEntry.id)
        )
        if matter_id is not None:
            stmt = stmt.where(EgressLogEntry.matter_id == matter_id)
        return list(session.scalars(stmt))


def usage(world: World) -> list[AIUsage]:
    with world.sessions() as session:
        stmt = select(AIUsage).where(AIUsage.organization_id == world.organization_id).order_by(AIUsage.id)
        return list(session.scalars(stmt))


def ask(text: str) -> ChatRequest:
    return ChatRequest(system="Answer.", messages=[Message("user", text)], max_tokens=50, purpose="ask")


# ---- egress policy --------------------------------------------------------------------------------


def test_local_only_matter_never_reaches_the_cloud(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway(
        [openai_provider(cloud), local_provider(second, embedding_model="local-embed"), OFFLINE]
    )
    context = world.context()  # no policy row: local_only
    assert [p.name for p in gateway.allowed_providers(context)] == ["local-llm", "offline"]
    assert gateway.can_generate(context)
    result = gateway.chat(Q, context=context)
    assert result.provider == "local-llm" and result.text == "ok"
    assert "".join(gateway.stream_chat(ask("stream?"), context=context)) == "ok"
    assert gateway.embed(["clause"], context=context).provider == "local-llm"
    assert cloud.count() == 0 and second.count() == 3
    assert egress(world) == []  # nothing left the machine
    assert [u.local for u in usage(world)] == [True, True, True]

    cloud_only = make_gateway([openai_provider(cloud)])
    for call in (
        lambda: cloud_only.chat(Q, context=context),
        lambda: cloud_only.stream_chat(Q, context=context),
        lambda: cloud_only.embed(["x"], context=context),
    ):
        with pytest.raises(EgressDenied, match="local_only"):
            call()
    world.allow("some-other-provider")
    with pytest.raises(EgressDenied, match="Nothing was sent"):
        cloud_only.chat(Q, context=context)
    assert cloud.count() == 0 and egress(world) == []


def test_allowed_matter_uses_the_cloud_and_logs_what_was_sent(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud), OFFLINE])
    world.allow("cloud")
    result = gateway.chat(Q, context=world.context())
    assert (result.provider, result.text, result.cached) == ("cloud", "ok", False)
    [sent] = cloud.requests
    [row] = egress(world)
    assert (row.byte_count, row.sha256) == body_digest(sent.body)
    assert row.byte_count > len("Either party may terminate on 30 days' notice.")
    assert (row.provider, row.model, row.operation, row.purpose) == ("cloud", "gpt-test", "chat", "ask")
    assert row.destination == cloud.url and row.user_id == "u" * 32
    assert (row.organization_id, row.matter_id) == (world.organization_id, world.matter_id)
    assert (row.attempts, row.outcome, row.status, row.redacted) == (1, "ok", None, False)
    assert egress(world, world.other_matter_id) == []
    [u] = usage(world)
    assert (u.input_tokens, u.output_tokens, u.cached, u.local) == (11, 7, False, False)
    assert u.cost_usd == pytest.approx((11 * 2.0 + 7 * 8.0) / 1_000_000)


def test_offline_only_cannot_generate(world: World, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway([OFFLINE], offline_embedder=lambda texts: [[1.0, 0.0] for _ in texts])
    context = world.context()
    assert not gateway.can_generate(context)
    with pytest.raises(GenerationUnavailable, match="extracted from the documents"):
        gateway.chat(Q, context=context)
    with pytest.raises(GenerationUnavailable):
        gateway.stream_chat(Q, context=context)
    result = gateway.embed(["a", "b"], context=context)
    assert result.vectors == [[1.0, 0.0], [1.0, 0.0]] and result.provider == "offline"


# ---- retries, timeouts, fallback --------------------------------------------------------------------


def test_fallback_to_the_next_provider(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud), anthropic_provider(second)])
    world.allow("cloud", "claude")
    cloud.script(Status(500), Status(502), Status(503))
    second.script(Reply("from claude"))
    result = gateway.chat(Q, context=world.context())
    assert (result.provider, result.text) == ("claude", "from claude")
    assert cloud.count() == 3 and second.count() == 1
    first, fallback = egress(world)
    assert (first.provider, first.attempts, first.outcome, first.status) == ("cloud", 3, "http_503", 503)
    assert (fallback.provider, fallback.outcome) == ("claude", "ok")
    assert (fallback.byte_count, fallback.sha256) == body_digest(second.requests[0].body)


def test_no_double_retries(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory, clock: FakeClock
) -> None:
    gateway = make_gateway([openai_provider(cloud)], ai_max_attempts=3, ai_breaker_failures=10)
    world.allow("cloud")
    cloud.script(Status(503), Status(503), Status(503))
    with pytest.raises(AllProvidersFailed) as info:
        gateway.chat(Q, context=world.context())
    assert cloud.count() == 3  # exactly the configured attempts: the SDK does not retry on its own
    assert [r.headers["x-stainless-retry-count"] for r in cloud.requests] == ["0", "0", "0"]
    assert len(clock.sleeps) == 2 and all(0 <= s <= 0.05 for s in clock.sleeps)
    assert "cloud/gpt-test" in str(info.value) and "503" in str(info.value)
    assert info.value.retryable

    once = make_gateway([openai_provider(cloud)], ai_max_attempts=1, ai_breaker_failures=10)
    cloud.script(Status(500))
    with pytest.raises(AllProvidersFailed):
        once.chat(Q, context=world.context())
    assert cloud.count() == 4


def test_retry_after_is_honoured_and_capped(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory, clock: FakeClock
) -> None:
    gateway = make_gateway(
        [openai_provider(cloud)],
        ai_retry_after_max_seconds=8.0,
        ai_cache_ttl_seconds=0,
        ai_breaker_failures=10,
    )
    world.allow("cloud")
    cloud.script(Status(429, retry_after="2"))
    assert gateway.chat(Q, context=world.context()).text == "ok"
    assert clock.sleeps == [2.0] and cloud.count() == 2
    when = datetime.now(UTC) + timedelta(seconds=6)
    cloud.script(Status(503, retry_after=format_datetime(when, usegmt=True)))
    gateway.chat(Q, context=world.context())
    assert 4.0 <= clock.sleeps[-1] <= 6.0
    cloud.script(Status(429, retry_after="3600"))
    gateway.chat(Q, context=world.context())
    assert clock.sleeps[-1] == 8.0  # capped by ai_retry_after_max_seconds
    assert cloud.count() == 6


def test_client_errors_and_context_length_are_not_retried(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory, clock: FakeClock
) -> None:
    gateway = make_gateway([openai_provider(cloud)], ai_cache_ttl_seconds=0)
    claude = make_gateway([anthropic_provider(second)], ai_cache_ttl_seconds=0)
    world.allow("cloud", "claude")
    cloud.script(ContextTooLong())
    with pytest.raises(ContextLengthExceeded, match="too long"):
        gateway.chat(Q, context=world.context())
    second.script(ContextTooLong())
    with pytest.raises(ContextLengthExceeded, match="prompt is too long"):
        claude.chat(Q, context=world.context())
    for status in (400, 401, 403, 404, 422):
        cloud.script(Status(status))
        with pytest.raises(AllProvidersFailed, match=str(status)):
            gateway.chat(Q, context=world.context())
    assert cloud.count() == 6 and second.count() == 1 and clock.sleeps == []
    assert gateway.breaker.state("cloud", "gpt-test") == "closed"  # client errors do not trip it


def test_a_hanging_provider_times_out_and_is_retried(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud)], ai_timeout_seconds=0.2, ai_max_attempts=2)
    world.allow("cloud")
    cloud.script(Hang(3), Hang(3))
    with pytest.raises(AllProvidersFailed, match=r"did not answer within 0\.2 s"):
        gateway.chat(Q, context=world.context())
    assert cloud.count() == 2
    [row] = egress(world)
    assert (row.attempts, row.outcome) == (2, "timeout")


# ---- circuit breaker ------------------------------------------------------------------------------


def test_breaker_opens_and_recovers_through_a_half_open_probe(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory, clock: FakeClock
) -> None:
    gateway = make_gateway(
        [openai_provider(cloud), anthropic_provider(second)],
        ai_max_attempts=1,
        ai_breaker_failures=2,
        ai_breaker_cooldown_seconds=30,
        ai_cache_ttl_seconds=0,
    )
    world.allow("cloud")  # claude is configured but not allowed: only cloud is in play
    context = world.context()
    cloud.script(Status(500), Status(500))
    for _ in range(2):
        with pytest.raises(AllProvidersFailed):
            gateway.chat(Q, context=context)
    assert gateway.breaker.state("cloud", "gpt-test") == "open"
    with pytest.raises(AllProvidersFailed) as info:
        gateway.chat(Q, context=context)
    assert isinstance(info.value.failures[0].error, CircuitOpen) and "resting" in str(info.value)
    assert cloud.count() == 2  # refused without a request

    world.allow("cloud", "claude")  # while cloud rests, the next provider answers
    assert gateway.chat(Q, context=context).provider == "claude"
    assert cloud.count() == 2 and second.count() == 1

    clock.advance(30)
    assert gateway.breaker.state("cloud", "gpt-test") == "half_open"
    assert gateway.chat(Q, context=context).provider == "cloud"  # the probe succeeds
    assert gateway.breaker.state("cloud", "gpt-test") == "closed" and cloud.count() == 3


def test_breaker_state_is_shared_through_redis(
    cloud: FakeLLM,
    world: World,
    make_gateway: GatewayFactory,
    clock: FakeClock,
    redis_url: str,
    redis_namespace: str,
) -> None:
    settings = {"ai_max_attempts": 1, "ai_breaker_failures": 2, "ai_cache_ttl_seconds": 0}
    replica_a = make_gateway(
        [openai_provider(cloud)], redis_url=redis_url, namespace=redis_namespace, **settings
    )
    replica_b = make_gateway(
        [openai_provider(cloud)], redis_url=redis_url, namespace=redis_namespace, **settings
    )
    world.allow("cloud")
    context = world.context()
    cloud.script(Status(500), Status(500))
    for _ in range(2):
        with pytest.raises(AllProvidersFailed):
            replica_a.chat(Q, context=context)
    assert replica_b.breaker.state("cloud", "gpt-test") == "open"
    with pytest.raises(AllProvidersFailed, match="resting"):
        replica_b.chat(Q, context=context)
    assert cloud.count() == 2  # replica B agreed without calling
    clock.advance(31)
    cloud.script(Status(500))  # replica B's probe fails: open again, for both
    with pytest.raises(AllProvidersFailed):
        replica_b.chat(Q, context=context)
    assert replica_a.breaker.state("cloud", "gpt-test") == "open" and cloud.count() == 3
    clock.advance(31)
    assert replica_a.chat(Q, context=context).text == "ok"
    assert replica_b.breaker.state("cloud", "gpt-test") == "closed" and cloud.count() == 4


# ---- cache ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_cache_hit_makes_no_call_and_invalidates_per_matter(
    backend: str, cloud: FakeLLM, world: World, make_gateway: GatewayFactory, request: pytest.FixtureRequest
) -> None:
    extra: dict[str, Any] = {}
    if backend == "redis":
        extra = {
            "redis_url": request.getfixturevalue("redis_url"),
            "namespace": request.getfixturevalue("redis_namespace"),
        }
    gateway = make_gateway([openai_provider(cloud)], **extra)
    world.allow("cloud")
    world.allow("cloud", matter_id=world.other_matter_id)
    one, two = world.context(), world.context(world.other_matter_id)
    cloud.script(
        Reply("first answer"), Reply("other matter"), Reply("different"), Reply("after invalidation")
    )
    assert gateway.chat(Q, context=one).text == "first answer"
    hit = gateway.chat(Q, context=one)
    assert (hit.text, hit.cached, hit.provider) == ("first answer", True, "cloud")
    assert cloud.count() == 1
    assert gateway.chat(Q, context=two).text == "other matter"  # keyed per matter
    assert gateway.chat(Q, context=two).cached and cloud.count() == 2
    assert gateway.chat(ask("a different question"), context=one).cached is False  # keyed by prompt
    assert cloud.count() == 3

    gateway.cache.invalidate_matter(world.matter_id)
    assert gateway.chat(Q, context=one).text == "after invalidation" and cloud.count() == 4
    assert gateway.chat(Q, context=two).cached and cloud.count() == 4  # the other matter keeps its entries
    cached_rows = [u for u in usage(world) if u.cached]
    assert len(cached_rows) == 3 and all(u.cost_usd == 0.0 for u in cached_rows)
    assert len(egress(world)) == 4  # one row per request that actually left


def test_budgets_stop_calls_before_any_request(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud)])
    context = world.context()
    estimate = gateway.count_tokens(render_prompt(Q).text, "cloud") + Q.max_tokens
    world.allow("cloud", token_budget=estimate + 18 - 1)  # room for one call (11 + 7 tokens used)
    gateway.chat(Q, context=context)
    same_size = replace(Q, messages=[Message("user", "What is the notice period!")])
    with pytest.raises(BudgetExceeded) as info:
        gateway.chat(same_size, context=context)
    message = str(info.value)
    assert "matter's AI token budget" in message and "18 of" in message and "No request was sent" in message
    assert info.value.status_code == 429 and info.value.scope == "matter"
    assert cloud.count() == 1
    assert gateway.chat(Q, context=context).cached  # a cached answer costs nothing and is still served

    world.allow("cloud", cost_budget_usd=0.000001)
    with pytest.raises(BudgetExceeded, match=r"cost budget"):
        gateway.chat(ask("Third?"), context=context)
    assert cloud.count() == 1

    org_capped = make_gateway([openai_provider(cloud)], ai_default_org_token_budget=10)
    world.allow("cloud", token_budget=None, cost_budget_usd=None)
    with pytest.raises(BudgetExceeded, match="organization's AI token budget"):
        org_capped.chat(ask("Fourth?"), context=context)
    with pytest.raises(BudgetExceeded):
        org_capped.stream_chat(ask("Fifth?"), context=context)
    with pytest.raises(BudgetExceeded):
        org_capped.embed(["some text"], context=context)
    assert cloud.count() == 1 and len(egress(world)) == 1


# ---- structured output ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_schema_violation_is_repaired_once(
    kind: str, cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    config = openai_provider(cloud) if kind == "openai" else anthropic_provider(cloud)
    gateway = make_gateway([config])
    world.allow(config["name"])
    request = ChatRequest(system="Answer.", messages=[Message("user", "Notice?")], json_schema=SCHEMA)
    good = {"answer": "Thirty days", "citations": ["d1"]}
    cloud.script(Reply({"answer": "Thirty days"}), Reply("```json\n" + json.dumps(good) + "\n```"))
    result = gateway.chat(request, context=world.context())
    assert result.data == good and (result.input_tokens, result.output_tokens) == (22, 14)
    assert cloud.count() == 2
    repair = cloud.bodies()[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": json.dumps({"answer": "Thirty days"})}
    assert "missing required property 'citations'" in repair[-1]["content"]
    assert len(usage(world)) == 2 and len(egress(world)) == 2


def test_a_second_violation_fails_clearly(cloud: FakeLLM, world: World, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway([openai_provider(cloud)])
    world.allow("cloud")
    request = ChatRequest(system="Answer.", messages=[Message("user", "Notice?")], json_schema=SCHEMA)
    cloud.script(Reply("I think it is thirty days."), Reply({"answer": 30, "citations": [], "extra": 1}))
    with pytest.raises(SchemaViolation) as info:
        gateway.chat(request, context=world.context())
    assert "twice" in str(info.value)
    assert "$.answer: expected string, got integer" in info.value.errors
    assert "$: unexpected property 'extra'" in info.value.errors
    assert "not valid JSON" in cloud.bodies()[1]["messages"][-1]["content"]
    cloud.script(Reply(json.dumps({"answer": "ok", "citations": []})))
    assert gateway.chat(request, context=world.context()).data == {"answer": "ok", "citations": []}
    assert cloud.count() == 3  # the failure was not cached


# ---- streaming ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_streaming_through_the_gateway(
    kind: str, cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    config = openai_provider(cloud) if kind == "openai" else anthropic_provider(cloud)
    gateway = make_gateway([config])
    world.allow(config["name"])
    cloud.script(Reply("Thirty days' notice, per clause 9.", input_tokens=40, output_tokens=9))
    stream = gateway.stream_chat(Q, context=world.context())
    deltas = list(stream)
    assert len(deltas) > 2 and "".join(deltas) == "Thirty days' notice, per clause 9."
    assert stream.result is not None and (stream.result.input_tokens, stream.result.output_tokens) == (40, 9)
    [u] = usage(world)
    assert (u.operation, u.input_tokens, u.output_tokens) == ("stream", 40, 9)
    [row] = egress(world)
    assert row.operation == "stream" and (row.byte_count, row.sha256) == body_digest(cloud.requests[0].body)
    replay = gateway.stream_chat(Q, context=world.context())
    assert list(replay) == ["Thirty days' notice, per clause 9."] and replay.result is not None
    assert replay.result.cached and cloud.count() == 1


def test_streaming_falls_back_before_the_first_delta_and_records_abandoned_streams(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud), anthropic_provider(second)], ai_max_attempts=1)
    world.allow("cloud", "claude")
    cloud.script(Status(500))
    second.script(Reply("a long answer that the reader stops early", output_tokens=50))
    stream = gateway.stream_chat(Q, context=world.context())  # the failure happened here, not mid-stream
    assert next(stream) == "a lon"
    stream.close()
    assert (cloud.count(), second.count()) == (1, 1)
    [u] = usage(world)
    assert u.provider == "claude" and u.output_tokens >= 1  # the provider's work is still accounted


# ---- redaction, embeddings, secrets ---------------------------------------------------------------


def test_personal_data_is_redacted_before_it_leaves(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud), local_provider(second)], ai_cache_ttl_seconds=0)
    world.allow("cloud", redact_personal_data=True)
    personal = "Jane Roe, jane.roe@example.com, +1 415-555-0134, SSN 123-45-6789, card 4111 1111 1111 1111."
    request = ChatRequest(
        system="Answer.",
        messages=[Message("user", f"Who is {personal}?")],
        documents=[QuotedDocument("d1", f"Notice to {personal}")],
    )
    gateway.chat(request, context=world.context())
    sent = cloud.requests[0].raw.decode()
    for value in ("jane.roe@example.com", "415-555-0134", "123-45-6789", "4111 1111 1111 1111"):
        assert value not in sent
    for placeholder in ("[EMAIL]", "[PHONE]", "[SSN]", "[CARD]"):
        assert placeholder in sent
    assert "Jane Roe" in sent  # the default redactor knows patterns, not names
    assert egress(world)[0].redacted is True

    names = CallContext(
        world.organization_id, world.matter_id, redactor=lambda t: t.replace("Jane Roe", "[NAME]")
    )
    gateway.chat(request, context=names)
    assert "Jane Roe" not in cloud.requests[1].raw.decode() and "[NAME]" in cloud.requests[1].raw.decode()

    world.set_policy(mode="local_only", redact_personal_data=True)
    gateway.chat(request, context=world.context())  # a local provider: nothing leaves, nothing redacted
    assert "jane.roe@example.com" in second.requests[0].raw.decode()


def test_embeddings_through_the_gateway(cloud: FakeLLM, world: World, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway([openai_provider(cloud), OFFLINE], offline_embedder=lambda ts: [[0.0] for _ in ts])
    context = world.context()
    assert gateway.embed(["abc"], context=context).provider == "offline"  # local_only
    with pytest.raises(EgressDenied):
        gateway.embed(["abc"], context=context, provider="cloud")
    world.allow("cloud")
    result = gateway.embed(["abc", "defgh"], context=context, provider="cloud")
    assert result.vectors[1] == [5.0, 1.0, 1.0, 0.5] and result.model == "embed-test"
    [row] = egress(world)
    assert row.operation == "embed" and row.model == "embed-test"
    assert (row.byte_count, row.sha256) == body_digest(cloud.requests[0].body)
    [u] = usage(world)
    assert (u.operation, u.input_tokens) == ("embed", 2)


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.getMessage()} {record.exc_text or ''}")

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    # Another test's app may have configured structlog to drop info events: let every level through.
    wrapper = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as events:
            yield lines
            lines.extend(json.dumps(e, default=str) for e in events)
    finally:
        structlog.configure(wrapper_class=wrapper)
        root.removeHandler(handler)


def test_keys_never_appear_in_errors_logs_or_settings(
    cloud: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud)], ai_max_attempts=2)
    world.allow("cloud")
    echo = f"Incorrect API key provided: {CLOUD_KEY}. Authorization: Bearer {CLOUD_KEY}"
    cloud.script(Status(500, message=echo), Status(401, message=echo))
    with captured_logs() as lines, pytest.raises(AllProvidersFailed) as info:
        gateway.chat(Q, context=world.context())
    assert cloud.requests[0].headers["authorization"] == f"Bearer {CLOUD_KEY}"  # it was used...
    assert any("ai.retry" in line for line in lines) and any("ai.provider_failed" in line for line in lines)
    error_text = f"{info.value} {info.value!r} {info.value.reasons} {info.value.detail}"
    for text in (error_text, *lines):
        assert CLOUD_KEY not in text  # ...and never shown
    assert "[redacted]" in error_text and "401" in error_text
    settings = gateway.settings
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.ai_providers)):
        assert CLOUD_KEY not in text
    assert settings.ai_providers[0].api_key is not None
    assert settings.ai_providers[0].api_key.get_secret_value() == CLOUD_KEY
    assert CLOUD_KEY not in repr(gateway.providers)
    with pytest.raises(Exception) as bad:
        AIProviderConfig(name="x", kind="openai", api_key=[CLOUD_KEY])  # type: ignore[arg-type]
    assert CLOUD_KEY not in str(bad.value)


def test_usage_is_aggregated_per_matter_and_organization(
    cloud: FakeLLM, second: FakeLLM, world: World, make_gateway: GatewayFactory
) -> None:
    gateway = make_gateway([openai_provider(cloud), anthropic_provider(second)], ai_max_attempts=1)
    world.allow("cloud", "claude")
    world.allow("claude", matter_id=world.other_matter_id)
    one, two = world.context(), world.context(world.other_matter_id)
    cloud.script(Reply("a", input_tokens=100, output_tokens=10))
    gateway.chat(ask("one"), context=one)
    gateway.chat(ask("one"), context=one)  # cached
    cloud.script(Status(500))
    second.script(
        Reply("b", input_tokens=200, output_tokens=20), Reply("c", input_tokens=300, output_tokens=30)
    )
    gateway.chat(ask("two"), context=one)  # falls back to claude
    gateway.chat(ask("three"), context=two)
    matter = gateway.usage(world.organization_id, world.matter_id)
    assert (matter.totals.calls, matter.totals.cached_calls) == (3, 1)
    assert (matter.totals.input_tokens, matter.totals.output_tokens) == (300, 30)  # a hit spends none
    by = {(line.provider, line.model): line for line in matter.by_provider}
    assert by[("cloud", "gpt-test")].calls == 2 and by[("claude", "claude-test")].input_tokens == 200
    assert by[("cloud", "gpt-test")].cost_usd == pytest.approx((100 * 2 + 10 * 8) / 1e6)
    org = gateway.usage(world.organization_id)
    assert org.totals.calls == 4 and org.totals.input_tokens == 600
    assert org.totals.cost_usd == pytest.approx((100 * 2 + 10 * 8 + 500 * 3 + 50 * 15) / 1e6)
