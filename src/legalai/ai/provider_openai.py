"""OpenAI, and any server that speaks its chat-completions API (Ollama, vLLM, llama.cpp server),
through the official SDK with its retries off and an explicit timeout on every call."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionChunk

from legalai.ai.errors import AIError, ProviderError
from legalai.ai.protocol import ChatRequest, ChatResult, ChatStream, EmbeddingResult, render_prompt
from legalai.ai.providers import BaseProvider, status_error, transport_error
from legalai.settings import AIProviderConfig


class OpenAIProvider(BaseProvider):
    default_base_url = "https://api.openai.com/v1"

    def __init__(self, config: AIProviderConfig) -> None:
        super().__init__(config)
        self.kind = config.kind
        default_mode = "json_schema" if config.kind == "openai" else "json_object"
        self.json_mode = config.json_mode or default_mode
        # Local servers ignore the key, but the SDK insists on one.
        self._client = openai.OpenAI(
            api_key=self._secret or "not-needed",
            base_url=config.base_url,
            max_retries=0,
            timeout=60.0,
        )

    # ---- bodies -------------------------------------------------------------------------------

    def chat_body(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        schema_mode = request.json_schema is not None and self.json_mode == "json_schema"
        prompt = render_prompt(request, schema_in_system=not schema_mode)
        messages: list[dict[str, str]] = []
        if prompt.system:
            messages.append({"role": "system", "content": prompt.system})
        messages.extend({"role": m.role, "content": m.content} for m in prompt.messages)
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        # OpenAI's own API wants max_completion_tokens; compatible servers know max_tokens.
        body["max_completion_tokens" if self.kind == "openai" else "max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.json_schema is not None:
            if schema_mode:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": request.json_schema, "strict": False},
                }
            elif self.json_mode == "json_object":
                body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def embed_body(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"model": self.config.embedding_model or "", "input": list(texts), "encoding_format": "float"}

    # ---- calls --------------------------------------------------------------------------------

    def chat(self, request: ChatRequest, timeout: float) -> ChatResult:
        body = self.chat_body(request)
        try:
            response = self._client.chat.completions.create(**body, timeout=timeout)
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content if choice is not None else None) or ""
            usage = response.usage
        except Exception as exc:  # noqa: BLE001 - every failure becomes an AIError without secrets
            raise self._error(exc, timeout) from None
        return ChatResult(
            text=text,
            input_tokens=usage.prompt_tokens if usage else self.count_tokens(str(body["messages"])),
            output_tokens=usage.completion_tokens if usage else self.count_tokens(text),
            provider=self.name,
            model=self.model,
        )

    def stream_chat(self, request: ChatRequest, timeout: float) -> ChatStream:
        body = self.chat_body(request, stream=True)
        try:
            stream = cast(
                "openai.Stream[ChatCompletionChunk]",
                self._client.chat.completions.create(**body, timeout=timeout),
            )
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, timeout) from None

        def deltas() -> Generator[str, None, ChatResult]:
            parts: list[str] = []
            usage: Any = None
            try:
                for chunk in stream:
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or []:
                        piece = choice.delta.content if choice.delta is not None else None
                        if piece:
                            parts.append(piece)
                            yield piece
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, timeout) from None
            finally:
                stream.close()
            text = "".join(parts)
            return ChatResult(
                text=text,
                input_tokens=usage.prompt_tokens if usage else self.count_tokens(str(body["messages"])),
                output_tokens=usage.completion_tokens if usage else self.count_tokens(text),
                provider=self.name,
                model=self.model,
            )

        return ChatStream(deltas(), on_close=stream.close)

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingResult:
        if not self.config.embedding_model:
            from legalai.ai.errors import GenerationUnavailable

            raise GenerationUnavailable(
                f"{self.name} has no embedding model configured (embedding_model)", provider=self.name
            )
        body = self.embed_body(texts)
        try:
            response = self._client.embeddings.create(**body, timeout=timeout)
            vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
            tokens = response.usage.prompt_tokens if response.usage else sum(map(self.count_tokens, texts))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, timeout) from None
        if len(vectors) != len(texts):
            raise ProviderError(
                f"{self.name} returned {len(vectors)} embeddings for {len(texts)} texts",
                retryable=False,
                provider=self.name,
                model=self.config.embedding_model,
            )
        return EmbeddingResult(vectors, tokens, provider=self.name, model=self.config.embedding_model)

    def close(self) -> None:
        self._client.close()

    # ---- errors -------------------------------------------------------------------------------

    def _error(self, exc: Exception, timeout: float) -> AIError:
        if isinstance(exc, AIError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return transport_error(self, "timeout", timeout)
        if isinstance(exc, openai.APIConnectionError):
            return transport_error(self, "connection error")
        if isinstance(exc, openai.APIStatusError):
            message = exc.message
            body = exc.body
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                message = body["message"]
            return status_error(self, exc.status_code, message, exc.response.headers, code=exc.code)
        if isinstance(exc, ValueError | openai.APIResponseValidationError):
            return transport_error(self, "malformed")
        return ProviderError(
            f"{self.name} ({self.model}) failed: {type(exc).__name__}: {self._scrub(str(exc))[:300]}",
            retryable=False,
            provider=self.name,
            model=self.model,
        )
