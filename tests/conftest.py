"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from LEGALAI_TEST_POSTGRES_URL (an admin URL; each xdist worker creates its own
database). When that variable is set the server must be reachable: the run fails, it does not skip.
Without it (a laptop with no PostgreSQL) the PostgreSQL variants are skipped with a reason.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from legalai.kit.db import Base, make_engine
from legalai.kit.migrate import upgrade
from legalai.settings import Settings
from tests.fixtures.s3server import s3_server  # noqa: F401 - re-exported fixture

PG_ADMIN_URL = os.environ.get("LEGALAI_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("LEGALAI_TEST_REDIS_URL", "")


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _checkout_tag() -> str:
    """Short tag of this checkout, so two checkouts testing at once never share a database."""
    import hashlib

    return hashlib.sha256(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not PG_ADMIN_URL:
        pytest.skip("LEGALAI_TEST_POSTGRES_URL is not set; PostgreSQL variants skipped")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"legalai_test_{_checkout_tag()}_{_worker_id()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at LEGALAI_TEST_POSTGRES_URL is unreachable: {exc}", pytrace=False)
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "legalai.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "log_json": True,
        "log_level": "WARNING",
        "worker_threads": 2,
        "extraction_timeout_seconds": 120,
        "job_min_backoff_ms": 50,
        "job_max_backoff_ms": 500,
        "database_pool_size": 4,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@dataclass
class Identity:
    organization_id: str
    user_id: str
    email: str
    password: str
    api_key: str


def create_identity(
    client: TestClient,
    email: str = "owner@example.com",
    organization: str = "Test Firm",
    role: str = "owner",
    scopes: frozenset[str] | None = None,
) -> Identity:
    """A person with a role in an organization and an API key, made through the services."""
    from sqlalchemy import select

    from legalai.accounts import service
    from legalai.accounts.models import Organization, Role
    from legalai.kit.db import transaction

    password = "correct horse battery staple"
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        org = session.scalar(select(Organization).where(Organization.name == organization))
        org = org or service.create_organization(session, organization)
        user = service.find_user(session, email) or service.create_user(session, email, password)
        service.add_to_organization(session, org.id, user.id, Role(role))
        principal = service.principal_for(session, user, org.id)
        if scopes is None:
            scopes = frozenset({"read", "write", "admin"} if principal.can_manage else {"read", "write"})
        _key, secret = service.create_api_key(session, principal, "tests", scopes)
        return Identity(org.id, user.id, user.email, password, secret)


def authorize(client: TestClient, **kwargs: Any) -> Identity:
    """Make the client act as an owner (or as given) through an API key."""
    identity = create_identity(client, **kwargs)
    client.headers["Authorization"] = f"Bearer {identity.api_key}"
    return identity


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from legalai.app import create_app

    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        yield test_client


@pytest.fixture
def matter_id(client: TestClient) -> str:
    response = client.post("/api/v1/matters", json={"name": "Test matter"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


STAGES_UNFINISHED = ("pending", "running")


def _finished(doc: dict[str, Any], stages: bool) -> bool:
    if doc["status"] not in ("ready", "failed"):
        return False
    if not stages or doc["status"] == "failed":
        return True
    return doc.get("analysis_status") not in STAGES_UNFINISHED and (
        doc.get("embedding_status") not in STAGES_UNFINISHED
    )


def _wait_ready(
    client: TestClient, document_ids: list[str], timeout: float = 60.0, *, stages: bool = False
) -> list[dict[str, Any]]:
    """Wait until the documents are ready (searchable) or failed; with ``stages``, until their
    follow-up stages (analysis, embedding) have finished too."""
    deadline = time.monotonic() + timeout
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        docs = [client.get(f"/api/v1/documents/{d}").json() for d in document_ids]
        if all(_finished(d, stages) for d in docs):
            return docs
        time.sleep(0.1)
    states = [(d.get("status"), d.get("analysis_status"), d.get("embedding_status")) for d in docs]
    raise AssertionError(f"documents not finished after {timeout}s: {states}")


def _wait_analyzed(
    client: TestClient, document_ids: list[str], timeout: float = 60.0
) -> list[dict[str, Any]]:
    return _wait_ready(client, document_ids, timeout, stages=True)


@pytest.fixture
def wait_ready() -> Callable[..., list[dict[str, Any]]]:
    return _wait_ready


@pytest.fixture
def wait_analyzed() -> Callable[..., list[dict[str, Any]]]:
    """Like ``wait_ready``, and then until analysis and embedding are done (or failed, skipped)."""
    return _wait_analyzed


def upload(client: TestClient, matter: str, *files: tuple[str, bytes], expect: int = 202) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/matters/{matter}/documents",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body
