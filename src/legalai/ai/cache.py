"""The response cache: answers keyed by sha256 of (matter, provider, model, prompt, parameters).

Redis when configured (``{ns}:ai:cache:{matter}:{generation}:{key}`` with a TTL; invalidating a
matter bumps its generation, so every older entry becomes unreachable at once and expires on its
own), else the ``ai_response_cache`` table (invalidation deletes the matter's rows). A cache that
fails (Redis down) is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from legalai.ai.models import AIResponseCacheEntry
from legalai.ai.protocol import ChatRequest, ChatResult
from legalai.kit.db import transaction, utcnow
from legalai.observability.logging import get_logger

log = get_logger(__name__)


def cache_key(request: ChatRequest, *, provider: str, model: str, matter_id: str | None) -> str:
    """sha256 of everything that shapes the answer (the request as it will be sent: redacted)."""
    material = {
        "v": 1,
        "matter": matter_id,
        "provider": provider,
        "model": model,
        "system": request.system,
        "messages": [[m.role, m.content] for m in request.messages],
        "documents": [asdict(d) for d in request.documents],
        "schema": request.json_schema,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }
    data = json.dumps(material, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class ResponseCache(Protocol):
    def get(self, key: str, matter_id: str | None) -> ChatResult | None: ...

    def put(self, key: str, result: ChatResult, *, organization_id: str, matter_id: str | None) -> None: ...

    def invalidate_matter(self, matter_id: str) -> None: ...


class NullCache:
    def get(self, key: str, matter_id: str | None) -> ChatResult | None:
        return None

    def put(self, key: str, result: ChatResult, *, organization_id: str, matter_id: str | None) -> None:
        return None

    def invalidate_matter(self, matter_id: str) -> None:
        return None


class RedisResponseCache:
    def __init__(self, client: Any, namespace: str, ttl_seconds: int) -> None:
        self.client = client
        self.prefix = f"{namespace}:ai:cache"
        self.ttl = ttl_seconds

    def _generation_key(self, matter_id: str | None) -> str:
        return f"{self.prefix}gen:{matter_id or '-'}"

    def _key(self, key: str, matter_id: str | None) -> str:
        generation = self.client.get(self._generation_key(matter_id))
        gen = generation.decode() if isinstance(generation, bytes) else str(generation or 0)
        return f"{self.prefix}:{matter_id or '-'}:{gen}:{key}"

    def get(self, key: str, matter_id: str | None) -> ChatResult | None:
        try:
            raw = self.client.get(self._key(key, matter_id))
        except Exception as exc:  # noqa: BLE001 - a broken cache is a miss
            log.warning("ai.cache_unavailable", error=type(exc).__name__)
            return None
        if raw is None:
            return None
        return ChatResult.from_dict(json.loads(raw), cached=True)

    def put(self, key: str, result: ChatResult, *, organization_id: str, matter_id: str | None) -> None:
        try:
            self.client.set(self._key(key, matter_id), json.dumps(result.as_dict()), ex=self.ttl)
        except Exception as exc:  # noqa: BLE001
            log.warning("ai.cache_unavailable", error=type(exc).__name__)

    def invalidate_matter(self, matter_id: str) -> None:
        self.client.incr(self._generation_key(matter_id))


class DatabaseResponseCache:
    def __init__(self, sessions: sessionmaker[Session], ttl_seconds: int) -> None:
        self.sessions = sessions
        self.ttl = ttl_seconds

    def get(self, key: str, matter_id: str | None) -> ChatResult | None:
        with self.sessions() as session:
            row = session.scalar(
                select(AIResponseCacheEntry).where(
                    AIResponseCacheEntry.key == key, AIResponseCacheEntry.expires_at > utcnow()
                )
            )
            if row is None or row.matter_id != matter_id:
                return None
            return ChatResult.from_dict(row.result, cached=True)

    def put(self, key: str, result: ChatResult, *, organization_id: str, matter_id: str | None) -> None:
        now = utcnow()
        try:
            with transaction(self.sessions) as session:
                session.execute(delete(AIResponseCacheEntry).where(AIResponseCacheEntry.expires_at <= now))
                session.execute(delete(AIResponseCacheEntry).where(AIResponseCacheEntry.key == key))
                session.add(
                    AIResponseCacheEntry(
                        key=key,
                        organization_id=organization_id,
                        matter_id=matter_id,
                        provider=result.provider[:100],
                        model=result.model[:200],
                        result=result.as_dict(),
                        created_at=now,
                        expires_at=now + timedelta(seconds=self.ttl),
                    )
                )
        except IntegrityError:
            pass  # another process cached the same answer meanwhile

    def invalidate_matter(self, matter_id: str) -> None:
        with transaction(self.sessions) as session:
            session.execute(delete(AIResponseCacheEntry).where(AIResponseCacheEntry.matter_id == matter_id))
