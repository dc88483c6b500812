"""Anthropic's Messages API through the official SDK (retries off, explicit timeout). Structured
output is asked for in the system instructions and parsed by the gateway; Anthropic has no
embeddings API."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, cast

import anthropic
from anthropic.types import RawMessageStreamEvent

from legalai.ai.errors import AIError, GenerationUnavailable, ProviderError
from legalai.ai.protocol import ChatRequest, ChatResult, ChatStream, EmbeddingResult, render_prompt
from legalai.ai.providers import BaseProvider, status_error, transport_error
from legalai.settings import AIProviderConfig


class AnthropicProvider(BaseProvider):
    default_base_url = "https://api.anthropic.com"

    def __init__(self, config: AIProviderConfig) -> None:
        super().__init__(config)
        self._client = anthropic.Anthropic(
            api_key=self._secret or "not-needed",
            base_url=config.base_url,
            max_retries=0,
            timeout=60.0,
        )

    def chat_body(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        prompt = render_prompt(request, schema_in_system=True)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
        }
        if prompt.system:
            body["system"] = prompt.system
        # No temperature: this SDK's Messages API no longer takes one (the model's default applies).
        if stream:
            body["stream"] = True
        return body

    def embed_body(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"input": list(texts)}

    def chat(self, request: ChatRequest, timeout: float) -> ChatResult:
        body = self.chat_body(request)
        try:
            message = self._client.messages.create(**body, timeout=timeout)
            text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
            usage = message.usage
        except Exception as exc:  # noqa: BLE001 - every failure becomes an AIError without secrets
            raise self._error(exc, timeout) from None
        return ChatResult(
            text=text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            provider=self.name,
            model=self.model,
        )

    def stream_chat(self, request: ChatRequest, timeout: float) -> ChatStream:
        body = self.chat_body(request, stream=True)
        try:
            events = cast(
                "anthropic.Stream[RawMessageStreamEvent]",
                self._client.messages.create(**body, timeout=timeout),
            )
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, timeout) from None

        def deltas() -> Generator[str, None, ChatResult]:
            parts: list[str] = []
            input_tokens: int | None = None
            output_tokens: int | None = None
            try:
                for event in events:
                    if event.type == "message_start":
                        input_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield event.delta.text
                    elif event.type == "message_delta" and event.usage is not None:
                        output_tokens = event.usage.output_tokens
                        if event.usage.input_tokens is not None:
                            input_tokens = event.usage.input_tokens
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, timeout) from None
            finally:
                events.close()
            text = "".join(parts)
            return ChatResult(
                text=text,
                input_tokens=input_tokens if input_tokens is not None else self.count_tokens(str(body)),
                output_tokens=output_tokens if output_tokens is not None else self.count_tokens(text),
                provider=self.name,
                model=self.model,
            )

        return ChatStream(deltas(), on_close=events.close)

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingResult:
        raise GenerationUnavailable(f"{self.name} (Anthropic) offers no embeddings", provider=self.name)

    def close(self) -> None:
        self._client.close()

    def _error(self, exc: Exception, timeout: float) -> AIError:
        if isinstance(exc, AIError):
            return exc
        if isinstance(exc, anthropic.APITimeoutError):
            return transport_error(self, "timeout", timeout)
        if isinstance(exc, anthropic.APIConnectionError):
            return transport_error(self, "connection error")
        if isinstance(exc, anthropic.APIStatusError):
            message = exc.api_message or exc.message
            return status_error(self, exc.status_code, message, exc.response.headers, code=exc.type)
        if isinstance(exc, ValueError | anthropic.APIResponseValidationError):
            return transport_error(self, "malformed")
        return ProviderError(
            f"{self.name} ({self.model}) failed: {type(exc).__name__}: {self._scrub(str(exc))[:300]}",
            retryable=False,
            provider=self.name,
            model=self.model,
        )
