"""Pieces without servers: the schema validator, reply parsing, redaction, the settings block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from legalai.ai.protocol import ChatRequest, Message
from legalai.ai.provider_offline import OfflineProvider
from legalai.ai.redaction import redact_personal_data, span_redactor
from legalai.ai.schema import InvalidOutput, check_schema, parse_and_validate, parse_json_reply, validate
from legalai.settings import AIProviderConfig, ConfigurationError, Settings

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "statements": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 3},
                    "support": {"enum": ["supported", "unsupported"]},
                    "page": {"type": "integer", "minimum": 1},
                    "score": {"type": ["number", "null"], "maximum": 1},
                },
                "required": ["text", "support"],
                "additionalProperties": False,
            },
        },
        "done": {"type": "boolean"},
    },
    "required": ["statements"],
}


def test_validator_accepts_valid_values() -> None:
    value = {
        "statements": [{"text": "Thirty days.", "support": "supported", "page": 2, "score": 0.5}],
        "done": True,
    }
    assert validate(value, SCHEMA) == []
    assert (
        validate(
            {"statements": [{"text": "abc", "support": "unsupported", "page": 2.0, "score": None}]}, SCHEMA
        )
        == []
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([], "$: expected object, got array"),
        ({}, "$: missing required property 'statements'"),
        ({"statements": "x"}, "$.statements: expected array, got string"),
        (
            {"statements": [{"text": "ab", "support": "supported"}]},
            "$.statements[0].text: shorter than 3 characters",
        ),
        ({"statements": [{"text": "abc", "support": "maybe"}]}, "$.statements[0].support: must be one of"),
        ({"statements": [{"text": "abc", "support": "supported", "page": 0}]}, "less than the minimum 1"),
        (
            {"statements": [{"text": "abc", "support": "supported", "page": True}]},
            "expected integer, got boolean",
        ),
        ({"statements": [{"text": "abc", "support": "supported", "score": 2}]}, "more than the maximum 1"),
        ({"statements": [{"text": "abc", "support": "supported", "x": 1}]}, "unexpected property 'x'"),
        ({"statements": [{"text": "abc", "support": "supported"}] * 3}, "allows at most 2 items, has 3"),
        ({"statements": [], "done": "yes"}, "$.done: expected boolean, got string"),
    ],
)
def test_validator_names_each_problem(value: Any, error: str) -> None:
    errors = validate(value, SCHEMA)
    assert any(error in e for e in errors), errors


def test_errors_never_quote_the_value() -> None:
    secret = "PRIVILEGED-TEXT-FROM-A-DOCUMENT"
    errors = validate({"statements": [{"text": 5, "support": secret, "x": secret}]}, SCHEMA)
    assert errors and not any(secret in e for e in errors)


def test_unsupported_schema_keywords_are_refused() -> None:
    check_schema(SCHEMA)
    with pytest.raises(ValueError, match=r"\$ref"):
        check_schema({"type": "object", "properties": {"a": {"$ref": "#/defs/x"}}})
    with pytest.raises(ValueError, match="unknown type"):
        check_schema({"type": "date"})


def test_reply_parsing() -> None:
    assert parse_json_reply('{"a": 1}') == {"a": 1}
    assert parse_json_reply('```json\n{"a": [1, 2]}\n```') == {"a": [1, 2]}
    assert parse_json_reply('Here you go:\n{"a": "b"}\nHope that helps.') == {"a": "b"}
    with pytest.raises(InvalidOutput, match="not valid JSON"):
        parse_json_reply("no json here")
    with pytest.raises(InvalidOutput) as info:
        parse_and_validate('{"statements": [{"text": "abc"}]}', SCHEMA)
    assert info.value.errors == ["$.statements[0]: missing required property 'support'"]


def test_requests_must_end_with_the_user() -> None:
    with pytest.raises(ValueError, match="last message"):
        ChatRequest(system="s", messages=[Message("user", "q"), Message("assistant", "a")])
    with pytest.raises(ValueError, match="at least one"):
        ChatRequest(system="s", messages=[])
    with pytest.raises(ValueError, match="role"):
        Message("system", "x")  # type: ignore[arg-type]


def test_default_redactor() -> None:
    text = (
        "Mail jane.roe@example.co.uk or call (415) 555-0134 / +44 20 7946 0958. SSN 123-45-6789. "
        "Card 4111-1111-1111-1111; not a card 4111 1111 1111 1112. Dated 2024-01-15, clause 12.3, $1,250,000."
    )
    out = redact_personal_data(text)
    for gone in ("jane.roe@example.co.uk", "555-0134", "7946 0958", "123-45-6789", "4111-1111-1111-1111"):
        assert gone not in out, out
    for kept in ("4111 1111 1111 1112", "2024-01-15", "clause 12.3", "$1,250,000"):
        assert kept in out, out
    assert out.count("[PHONE]") == 2 and "[EMAIL]" in out and "[SSN]" in out and "[CARD]" in out


def test_span_redactor_uses_known_values_first() -> None:
    redact = span_redactor(["Jane Roe", "Jane", "Acme Holdings"])
    assert redact("Jane Roe of Acme Holdings (jane@acme.com); Jane agrees.") == (
        "[REDACTED] of [REDACTED] ([EMAIL]); [REDACTED] agrees."
    )
    assert span_redactor([], then=None)("unchanged") == "unchanged"


def test_settings_read_providers_from_json_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(p.name, p.kind) for p in Settings().ai_providers] == [("offline", "offline")]  # the default
    key = "sk-live-ENVKEY-0123456789abcdef"
    providers = [
        {"name": "gpt", "kind": "openai", "model": "gpt-x", "api_key": key, "price_input_per_mtok": 1.5},
        {
            "name": "ollama",
            "kind": "openai_compatible",
            "model": "llama3:8b",
            "base_url": "http://127.0.0.1:11434/v1",
        },
        {"name": "offline", "kind": "offline"},
    ]
    monkeypatch.setenv("LEGALAI_AI_PROVIDERS", json.dumps(providers))
    monkeypatch.setenv("LEGALAI_AI_TIMEOUT_SECONDS", "12.5")
    monkeypatch.setenv("LEGALAI_AI_DEFAULT_ORG_TOKEN_BUDGET", "1000000")
    settings = Settings()
    assert [p.name for p in settings.ai_providers] == ["gpt", "ollama", "offline"]
    assert (
        settings.ai_providers[0].api_key is not None
        and settings.ai_providers[0].api_key.get_secret_value() == key
    )
    assert settings.ai_providers[0].price_input_per_mtok == 1.5
    assert (settings.ai_timeout_seconds, settings.ai_default_org_token_budget) == (12.5, 1_000_000)
    assert settings.problems() == []
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert key not in text

    bad = [{"name": "x", "kind": "openai", "api_key": [key]}]
    monkeypatch.setenv("LEGALAI_AI_PROVIDERS", json.dumps(bad))
    with pytest.raises(ValidationError) as info:
        Settings()
    assert key not in str(info.value)  # validation errors do not echo the input


def test_settings_problems_for_providers() -> None:
    settings = Settings(
        ai_providers=[
            {"name": "a", "kind": "offline"},
            {"name": "a", "kind": "openai_compatible", "model": "m"},
        ]
    )
    problems = settings.problems()
    assert any("unique" in p for p in problems) and any("needs a base_url" in p for p in problems)
    with pytest.raises(ConfigurationError):
        settings.validate_for_startup()
    with pytest.raises(ValidationError):
        Settings(ai_providers=[{"name": "bad name!", "kind": "offline"}])
    with pytest.raises(ValidationError):
        Settings(ai_providers=[{"name": "x", "kind": "openai", "base_url": "ftp://x"}])


def test_token_counts_use_a_configured_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "notice": 1, "days": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    exact = OfflineProvider(AIProviderConfig(name="o", kind="offline", tokenizer_path=path))
    text = "thirty days notice, per clause nine"
    assert exact.count_tokens(text) == 7  # six words and a comma
    assert OfflineProvider().count_tokens(text) == 9  # ~4 characters a token


def test_outage_errors_say_when_to_retry() -> None:
    from legalai.ai.errors import (
        AllProvidersFailed,
        CircuitOpen,
        EgressDenied,
        ProviderError,
        ProviderFailure,
        retry_after_seconds,
    )

    assert [retry_after_seconds(h) for h in (None, 0.2, 2.5, 7.0, 10_000.0)] == [5, 1, 3, 7, 300]
    resting = CircuitOpen("cloud is resting", retry_after=12.4)
    assert resting.extra["retry_after"] == 13
    down = ProviderError("HTTP 500", retryable=True, status=500)
    throttled = ProviderError("HTTP 429", retryable=True, status=429, retry_after=2.0)
    assert AllProvidersFailed([ProviderFailure("a", "m", down)]).extra["retry_after"] == 5
    both = AllProvidersFailed([ProviderFailure("a", "m", down), ProviderFailure("b", "m", throttled)])
    assert both.extra["retry_after"] == 2
    assert AllProvidersFailed([ProviderFailure("a", "m", resting)]).extra["retry_after"] == 13
    # A refusal is not an outage: no Retry-After invites a pointless retry.
    refused = AllProvidersFailed([ProviderFailure("a", "m", EgressDenied("not allowed"))])
    assert "retry_after" not in refused.extra
