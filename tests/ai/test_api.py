"""The AI endpoints: a matter's AI policy (GET/PUT), egress log and usage, with their permissions,
validation and audit, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from legalai.accounts.models import AuditEvent
from legalai.ai.gateway import CallContext
from legalai.ai.protocol import ChatRequest, Message
from legalai.kit.db import transaction
from tests.ai.conftest import CLOUD_KEY, OFFLINE, openai_provider
from tests.conftest import Identity, create_identity, make_settings
from tests.fixtures.fake_llm import FakeLLM


@pytest.fixture
def client(tmp_path: Path, database_url: str, cloud: FakeLLM) -> Iterator[TestClient]:
    from legalai.app import create_app

    settings = make_settings(
        tmp_path, database_url, rate_limit_enabled=False, ai_providers=[openai_provider(cloud), OFFLINE]
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def call(client: TestClient, who: Identity, method: str, url: str, **kwargs: Any) -> Response:
    response: Response = client.request(
        method, f"/api/v1{url}", headers={"Authorization": f"Bearer {who.api_key}"}, **kwargs
    )
    return response


def new_matter(client: TestClient, who: Identity, name: str = "AI matter") -> str:
    response = call(client, who, "POST", "/matters", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def check_validation(client: TestClient, owner: Identity, matter: str) -> None:
    """Bad input is refused with a clear 422 and stores nothing."""
    url = f"/matters/{matter}/ai-policy"
    response = call(
        client, owner, "PUT", url, json={"mode": "allowed", "allowed_providers": ["nope", "cloud"]}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"] == "Unknown AI provider: nope. Configured providers: cloud, offline"
    assert problem["unknown"] == ["nope"]
    for bad in (
        {"mode": "everywhere"},
        {"mode": "allowed", "token_budget": -1},
        {"mode": "allowed", "cost_budget_usd": -0.5},
        {"mode": "allowed", "surprise": True},
        {"allowed_providers": ["cloud"]},
    ):
        assert call(client, owner, "PUT", url, json=bad).status_code == 422, bad
    assert call(client, owner, "GET", url).json()["is_default"] is True  # nothing was stored


def test_policy_defaults_to_local_only_and_owners_change_it(client: TestClient, cloud: FakeLLM) -> None:
    owner = create_identity(client)
    matter = new_matter(client, owner)
    response = call(client, owner, "GET", f"/matters/{matter}/ai-policy")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["mode"], body["is_default"], body["allowed_providers"]) == ("local_only", True, [])
    providers = {p["name"]: p for p in body["providers"]}
    assert providers["cloud"] == {
        "name": "cloud",
        "model": "gpt-test",
        "kind": "openai",
        "local": False,
        "destination": cloud.url,
        "allowed": False,
    }
    assert providers["offline"]["local"] and providers["offline"]["allowed"]
    assert CLOUD_KEY not in response.text
    check_validation(client, owner, matter)

    wanted = {"mode": "allowed", "allowed_providers": ["cloud", "cloud"], "redact_personal_data": True}
    response = call(
        client, owner, "PUT", f"/matters/{matter}/ai-policy", json={**wanted, "token_budget": 5000}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["mode"], body["allowed_providers"], body["token_budget"]) == ("allowed", ["cloud"], 5000)
    assert body["redact_personal_data"] and not body["is_default"] and body["updated_at"]
    assert {p["name"]: p["allowed"] for p in body["providers"]} == {"cloud": True, "offline": True}
    assert call(client, owner, "GET", f"/matters/{matter}/ai-policy").json() == body

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "matter.ai_policy_changed")
        ).all()
        assert (event.matter_id, event.target_id, event.actor_user_id) == (matter, matter, owner.user_id)
        details = event.details
    assert details["mode"] == "allowed" and details["allowed_providers"] == ["cloud"]
    assert details["budget"] == {"max_tokens_count": 5000, "max_usd": None} and details["previous"] is None
    assert CLOUD_KEY not in str(details)

    back = call(client, owner, "PUT", f"/matters/{matter}/ai-policy", json={"mode": "local_only"})
    assert back.status_code == 200 and back.json()["mode"] == "local_only"
    assert back.json()["allowed_providers"] == [] and back.json()["token_budget"] is None


def test_who_may_read_and_change_the_policy(client: TestClient) -> None:
    owner = create_identity(client)
    matter = new_matter(client, owner)
    member = create_identity(client, email="member@example.com", role="attorney")
    outsider = create_identity(client, email="outsider@example.com", role="attorney")
    admin = create_identity(client, email="admin@example.com", role="admin")
    stranger = create_identity(client, email="boss@elsewhere.example", organization="Elsewhere", role="owner")
    added = call(client, owner, "POST", f"/matters/{matter}/members", json={"user_id": member.user_id})
    assert added.status_code == 200, added.text
    policy = {"mode": "allowed", "allowed_providers": ["cloud"]}
    expectations = [
        # who, GET policy, PUT policy, GET egress-log, GET ai-usage
        (member, 200, 403, 200, 200),
        (outsider, 404, 403, 404, 404),
        (admin, 200, 200, 404, 404),  # admins manage the matter without reading its content
        (stranger, 404, 404, 404, 404),
    ]
    for who, get_policy, put_policy, get_log, get_usage in expectations:
        got = (
            call(client, who, "GET", f"/matters/{matter}/ai-policy").status_code,
            call(client, who, "PUT", f"/matters/{matter}/ai-policy", json=policy).status_code,
            call(client, who, "GET", f"/matters/{matter}/egress-log").status_code,
            call(client, who, "GET", f"/matters/{matter}/ai-usage").status_code,
        )
        assert got == (get_policy, put_policy, get_log, get_usage), who.email
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "matter.ai_policy_changed")
        ).all()
        assert [e.actor_user_id for e in events] == [admin.user_id]  # refused changes left no trace


def test_egress_log_and_usage(client: TestClient, cloud: FakeLLM) -> None:
    owner = create_identity(client)
    matter = new_matter(client, owner)
    other = new_matter(client, owner, "Other matter")
    assert (
        call(
            client,
            owner,
            "PUT",
            f"/matters/{matter}/ai-policy",
            json={"mode": "allowed", "allowed_providers": ["cloud"]},
        ).status_code
        == 200
    )
    gateway = client.app.state.runtime.ai  # type: ignore[attr-defined]
    context = CallContext(owner.organization_id, matter, user_id=owner.user_id, purpose="summary")
    for question in ("one?", "two?", "three?", "three?"):
        request = ChatRequest(system="Answer.", messages=[Message("user", question)], max_tokens=20)
        gateway.chat(request, context=context)
    assert cloud.count() == 3

    page = call(client, owner, "GET", f"/matters/{matter}/egress-log", params={"limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (3, 0, 2, 2)
    first = page["items"][0]
    assert (first["provider"], first["model"], first["destination"]) == ("cloud", "gpt-test", cloud.url)
    assert (first["user_id"], first["purpose"], first["outcome"], first["attempts"]) == (
        owner.user_id,
        "summary",
        "ok",
        1,
    )
    assert (
        first["byte_count"] > 0
        and len(first["sha256"]) == 64
        and first["created_at"].endswith(("Z", "+00:00"))
    )
    rest = call(client, owner, "GET", f"/matters/{matter}/egress-log", params={"offset": 2}).json()
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] not in {i["id"] for i in page["items"]}
    assert call(client, owner, "GET", f"/matters/{other}/egress-log").json()["total"] == 0

    usage = call(client, owner, "GET", f"/matters/{matter}/ai-usage").json()
    assert usage["totals"] == {
        "calls": 4,
        "cached_calls": 1,
        "input_tokens": 33,
        "output_tokens": 21,
        "cost_usd": pytest.approx((33 * 2 + 21 * 8) / 1e6),
    }
    [line] = usage["by_provider"]
    assert (line["provider"], line["model"], line["calls"]) == ("cloud", "gpt-test", 4)
    assert (usage["token_budget"], usage["cost_budget_usd"]) == (None, None)
    assert call(client, owner, "GET", f"/matters/{other}/ai-usage").json()["totals"]["calls"] == 0
