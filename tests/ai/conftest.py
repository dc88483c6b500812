"""Fixtures of the AI layer's tests: fake LLM servers on loopback, a database with an organization
and matters, a fake clock and sleep, Redis (LEGALAI_TEST_REDIS_URL) with a throw-away namespace,
and a gateway factory that builds the real providers (real SDKs) from settings."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import Organization
from legalai.ai.gateway import AIGateway, CallContext
from legalai.ai.models import MatterAIPolicy
from legalai.kit.db import make_engine, make_sessionmaker, transaction
from legalai.matters.models import Matter
from legalai.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.fixtures.fake_llm import FakeLLM

CLOUD_KEY = "sk-test-CLOUDKEY-9f8e7d6c5b4a"
ANTHROPIC_KEY = "sk-ant-test-ANTHKEY-1a2b3c4d5e6f"


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    """Stands in for a cloud provider (configured as kind openai/anthropic: not local)."""
    with FakeLLM() as server:
        yield server


@pytest.fixture
def second() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@dataclass
class FakeClock:
    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class World:
    sessions: sessionmaker[Session]
    organization_id: str
    matter_id: str
    other_matter_id: str

    def context(self, matter_id: str | None = None, **kwargs: Any) -> CallContext:
        return CallContext(
            organization_id=self.organization_id,
            matter_id=matter_id or self.matter_id,
            user_id=kwargs.pop("user_id", "u" * 32),
            **kwargs,
        )

    def set_policy(self, matter_id: str | None = None, **values: Any) -> None:
        matter = matter_id or self.matter_id
        with transaction(self.sessions) as session:
            row = session.get(MatterAIPolicy, matter)
            if row is None:
                row = MatterAIPolicy(matter_id=matter, organization_id=self.organization_id)
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)

    def allow(self, *providers: str, matter_id: str | None = None, **values: Any) -> None:
        self.set_policy(matter_id, mode="allowed", allowed_providers=list(providers), **values)


@pytest.fixture(params=["sqlite", "postgresql"])
def ai_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Like ``database_url``, without emptying PostgreSQL first: every test here makes its own
    organization and matters and reads only their rows, so the shared database can be reused."""
    if request.param == "sqlite":
        target = tmp_path / "legalai.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def world(ai_database_url: str) -> Iterator[World]:
    engine = make_engine(ai_database_url, pool_size=4)
    sessions = make_sessionmaker(engine)
    tag = uuid.uuid4().hex[:8]
    with transaction(sessions) as session:
        org = Organization(name=f"AI Firm {tag}", slug=f"ai-firm-{tag}")
        session.add(org)
        session.flush()
        m1 = Matter(organization_id=org.id, name=f"Matter one {tag}")
        m2 = Matter(organization_id=org.id, name=f"Matter two {tag}")
        session.add_all([m1, m2])
        session.flush()
        ids = (org.id, m1.id, m2.id)
    yield World(sessions, *ids)
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("LEGALAI_TEST_REDIS_URL is not set")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at LEGALAI_TEST_REDIS_URL is unreachable: {exc}", pytrace=False)
    return REDIS_URL


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    name = f"test-ai-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def openai_provider(server: FakeLLM, name: str = "cloud", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "openai",
        "model": "gpt-test",
        "base_url": server.openai_url,
        "api_key": CLOUD_KEY,
        "embedding_model": "embed-test",
        "price_input_per_mtok": 2.0,
        "price_output_per_mtok": 8.0,
        **extra,
    }


def anthropic_provider(server: FakeLLM, name: str = "claude", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "anthropic",
        "model": "claude-test",
        "base_url": server.url,
        "api_key": ANTHROPIC_KEY,
        "price_input_per_mtok": 3.0,
        "price_output_per_mtok": 15.0,
        **extra,
    }


def local_provider(server: FakeLLM, name: str = "local-llm", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "openai_compatible",
        "model": "llama-test",
        "base_url": server.openai_url,
        **extra,
    }


OFFLINE = {"name": "offline", "kind": "offline", "model": "offline"}

GatewayFactory = Callable[..., AIGateway]


@pytest.fixture
def make_gateway(
    tmp_path: Path, ai_database_url: str, world: World, clock: FakeClock
) -> Iterator[GatewayFactory]:
    """``make_gateway(providers, redis_url=None, namespace=None, **settings)``: a gateway over the
    test database with the fake clock and sleep; closed after the test."""
    made: list[AIGateway] = []

    def factory(
        providers: list[dict[str, Any]],
        *,
        redis_url: str | None = None,
        namespace: str | None = None,
        offline_embedder: Any = None,
        **overrides: Any,
    ) -> AIGateway:
        values: dict[str, Any] = {
            "ai_providers": providers,
            "ai_timeout_seconds": 2.0,
            "ai_max_attempts": 3,
            "ai_backoff_base_seconds": 0.01,
            "ai_backoff_max_seconds": 0.05,
            "ai_breaker_failures": 3,
            "ai_breaker_window_seconds": 60.0,
            "ai_breaker_cooldown_seconds": 30.0,
        }
        values.update(overrides)
        if namespace is not None:
            values["redis_namespace"] = namespace
        settings: Settings = make_settings(tmp_path, ai_database_url, **values)
        client = redis.Redis.from_url(redis_url) if redis_url else None
        gateway = AIGateway(
            settings,
            world.sessions,
            redis=client,
            owns_redis=client is not None,
            offline_embedder=offline_embedder,
            clock=clock,
            sleep=clock.sleep,
            rng=random.Random(7),
        )
        made.append(gateway)
        return gateway

    yield factory
    for gateway in made:
        gateway.close()
