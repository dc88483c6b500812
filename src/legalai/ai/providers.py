"""What all providers share (identity, locality, token counting, error wording) and the factory
that builds them from settings."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from legalai.ai.errors import ContextLengthExceeded, ProviderError, register_secret, scrub
from legalai.ai.protocol import Provider, estimate_tokens
from legalai.ai.resilience import parse_retry_after
from legalai.settings import AIProviderConfig

Embedder = Callable[[list[str]], list[list[float]]]

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_CONTEXT_PHRASES = (
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "context window",
)


def is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_is_local(config: AIProviderConfig) -> bool:
    """Explicit ``local`` wins; otherwise offline is local, an OpenAI-compatible server on a loopback
    address is local, and the cloud kinds (openai, anthropic) never are."""
    if config.local is not None:
        return config.local
    if config.kind == "offline":
        return True
    return config.kind == "openai_compatible" and is_loopback_url(config.base_url)


class TokenCounter:
    """Exact counts with a ``tokenizers`` tokenizer.json when one is configured, else ~4 chars/token."""

    def __init__(self, tokenizer_path: Path | None = None) -> None:
        self._path = tokenizer_path
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        if self._path is None or not text:
            return estimate_tokens(text)
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(self._path))
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class BaseProvider:
    """Identity, locality and token counting from an :class:`AIProviderConfig`."""

    def __init__(self, config: AIProviderConfig) -> None:
        self.config = config
        self.name = config.name
        self.model = config.model
        self._local = config_is_local(config)
        self._count = TokenCounter(config.tokenizer_path)
        self._secret = config.api_key.get_secret_value() if config.api_key else ""
        register_secret(self._secret)

    @property
    def is_local(self) -> bool:
        return self._local

    @property
    def destination(self) -> str:
        if self.config.kind == "offline":
            return "local"
        parts = urlsplit(self.config.base_url or self.default_base_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    default_base_url = ""

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def close(self) -> None:
        return None

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._secret])

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, local={self.is_local})"


def status_error(
    provider: BaseProvider, status: int, message: str, headers: Any, *, code: str | None = None
) -> ProviderError | ContextLengthExceeded:
    """The AI error for an HTTP error answer: context-length errors are their own kind (never
    retried); 408, 429 and 5xx are retryable, with the server's Retry-After; other 4xx are not."""
    text = provider._scrub(message)
    lowered = f"{code or ''} {text}".lower()
    if status in (400, 413, 422) and any(p in lowered for p in _CONTEXT_PHRASES):
        return ContextLengthExceeded(
            f"The request is too long for {provider.name} ({provider.model}): {text}",
            provider=provider.name,
            model=provider.model,
        )
    retry_after = None
    if headers is not None:
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is None and headers.get("retry-after-ms"):
            try:
                retry_after = max(0.0, float(headers.get("retry-after-ms")) / 1000)
            except ValueError:
                retry_after = None
    retryable = status in (408, 429) or status >= 500
    return ProviderError(
        f"{provider.name} ({provider.model}) answered HTTP {status}: {text}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
        provider=provider.name,
        model=provider.model,
    )


def transport_error(provider: BaseProvider, kind: str, timeout: float | None = None) -> ProviderError:
    if kind == "timeout":
        message = f"{provider.name} ({provider.model}) did not answer within {timeout:g} s"
    elif kind == "malformed":
        message = f"{provider.name} ({provider.model}) sent a response that is not valid JSON"
    else:
        message = f"{provider.name} ({provider.model}) could not be reached ({kind})"
    return ProviderError(
        message, retryable=True, kind=kind.split()[0], provider=provider.name, model=provider.model
    )


def build_provider(config: AIProviderConfig, *, offline_embedder: Embedder | None = None) -> Provider:
    if config.kind == "offline":
        from legalai.ai.provider_offline import OfflineProvider

        return OfflineProvider(config, embedder=offline_embedder)
    if config.kind == "anthropic":
        from legalai.ai.provider_anthropic import AnthropicProvider

        return AnthropicProvider(config)
    from legalai.ai.provider_openai import OpenAIProvider

    return OpenAIProvider(config)


def build_providers(
    configs: Sequence[AIProviderConfig], *, offline_embedder: Embedder | None = None
) -> list[Provider]:
    return [build_provider(c, offline_embedder=offline_embedder) for c in configs]
