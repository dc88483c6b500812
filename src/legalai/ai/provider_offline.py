"""The built-in offline provider: no network at all. It counts tokens and embeds with an injected
local embedder; it does not generate text (offline answers are extracted from the documents by the
ask service), so ``chat`` raises :class:`GenerationUnavailable`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from legalai.ai.errors import GenerationUnavailable
from legalai.ai.protocol import ChatRequest, ChatResult, ChatStream, EmbeddingResult
from legalai.ai.providers import BaseProvider, Embedder
from legalai.settings import AIProviderConfig


class OfflineProvider(BaseProvider):
    def __init__(self, config: AIProviderConfig | None = None, *, embedder: Embedder | None = None) -> None:
        super().__init__(config or AIProviderConfig(name="offline", kind="offline", model="offline"))
        self.embedder = embedder

    @property
    def is_local(self) -> bool:
        return True

    @property
    def destination(self) -> str:
        return "local"

    def chat_body(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        return {}

    def embed_body(self, texts: Sequence[str]) -> dict[str, Any]:
        return {}

    def chat(self, request: ChatRequest, timeout: float) -> ChatResult:
        raise GenerationUnavailable(
            "The offline provider does not generate text; answers are extracted from the documents",
            provider=self.name,
            model=self.model,
        )

    def stream_chat(self, request: ChatRequest, timeout: float) -> ChatStream:
        self.chat(request, timeout)  # raises
        raise AssertionError("unreachable")

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingResult:
        if self.embedder is None:
            raise GenerationUnavailable(
                "No offline embedding model is configured for the offline provider",
                provider=self.name,
                model=self.model,
            )
        vectors = [list(map(float, v)) for v in self.embedder(list(texts))]
        if len(vectors) != len(texts):
            raise GenerationUnavailable(
                f"The offline embedder returned {len(vectors)} vectors for {len(texts)} texts",
                provider=self.name,
                model=self.model,
            )
        return EmbeddingResult(
            vectors,
            sum(map(self.count_tokens, texts)),
            provider=self.name,
            model=self.config.embedding_model or self.model,
        )
