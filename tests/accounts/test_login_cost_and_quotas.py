"""Sign-in costs the same whether or not the account exists; quotas stop uploads with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from legalai.accounts import security
from legalai.app import create_app
from tests.conftest import authorize, make_settings, upload


def test_unknown_and_known_accounts_cost_one_password_verification_each(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = security._HASHER

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            calls.append("verify")
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(security, "_HASHER", Counting())
    del client.headers["Authorization"]
    for email in ("ghost@example.com", "owner@example.com", "not-an-email"):
        calls.clear()
        res = client.post("/api/v1/auth/login", json={"email": email, "password": "wrong-password!!"})
        assert res.status_code == 401
        assert calls == ["verify"], email


def test_storage_and_daily_document_quotas(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, quota_storage_bytes=100, quota_documents_per_day=2)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Quota"}).json()["id"]
        res = client.post(
            f"/api/v1/matters/{matter}/documents", files=[("files", ("big.txt", b"x " * 100, "text/plain"))]
        )
        assert res.status_code == 413 and "Quota" in res.json()["title"]
        upload(client, matter, ("a.txt", b"first small document"))
        upload(client, matter, ("b.txt", b"second small document"))
        res = client.post(
            f"/api/v1/matters/{matter}/documents", files=[("files", ("c.txt", b"third", "text/plain"))]
        )
        assert res.status_code == 429 and int(res.headers["retry-after"]) > 0
