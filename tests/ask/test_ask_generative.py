"""Answers by an AI provider (a local server speaking the OpenAI wire format): verified or withheld,
never sent where the matter's policy forbids, not steered by instructions inside documents."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ai.conftest import OFFLINE, openai_provider
from tests.ask.corpus import DELAWARE, INJECTION, OTHER_MATTER_SECRET, SUPPLY
from tests.conftest import authorize, make_settings, upload
from tests.fixtures.fake_llm import FakeLLM, Malformed, Reply, Status

WaitReady = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def client(tmp_path: Path, database_url: str, cloud: FakeLLM) -> Iterator[TestClient]:
    from legalai.app import create_app

    settings = make_settings(
        tmp_path, database_url, rate_limit_enabled=False, ai_providers=[openai_provider(cloud), OFFLINE]
    )
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        yield test_client


def _matter(client: TestClient, wait_ready: WaitReady, name: str, *files: tuple[str, str]) -> str:
    matter = client.post("/api/v1/matters", json={"name": name}).json()["id"]
    body = upload(client, matter, *[(n, t.encode()) for n, t in files])
    ids = [a["document_id"] for a in body["accepted"]]
    assert all(d["status"] == "ready" for d in wait_ready(client, ids))
    return str(matter)


def _allow_cloud(client: TestClient, matter: str, **extra: Any) -> None:
    response = client.put(
        f"/api/v1/matters/{matter}/ai-policy",
        json={"mode": "allowed", "allowed_providers": ["cloud"], **extra},
    )
    assert response.status_code == 200, response.text


def _statement(text: str, quote: str, passages: int = 6) -> dict[str, Any]:
    """A statement citing every passage with the same quote: only those that hold it verify."""
    return {"text": text, "citations": [{"passage": f"P{i}", "quote": quote} for i in range(1, passages + 1)]}


def _ask(client: TestClient, matter: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/matters/{matter}/ask", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def _page(client: TestClient, cite: dict[str, Any]) -> str:
    return str(client.get(f"/api/v1/documents/{cite['document_id']}/pages/{cite['page']}").json()["text"])


def test_generated_statements_are_shown_only_with_verified_quotes(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    matter = _matter(client, wait_ready, "Supply", ("supply.txt", SUPPLY))
    _allow_cloud(client, matter)
    cloud.script(
        Reply(
            {
                "answerable": True,
                "statements": [
                    _statement("Delaware law governs the agreement.", DELAWARE),
                    _statement(
                        "The agreement is governed by Cayman Islands law.",
                        "laws of the Cayman Islands govern",
                    ),
                    {
                        "text": "Roe v. Wade, 410 U.S. 113 (1973) applies.",
                        "citations": [{"passage": "P9", "quote": DELAWARE}],
                    },
                ],
            }
        )
    )
    answer = _ask(client, matter, question="Which law governs the supply agreement?")
    assert answer["mode"] == "generated" and answer["provider"] == "cloud" and answer["model"] == "gpt-test"
    assert [s["text"] for s in answer["statements"]] == ["Delaware law governs the agreement."]
    assert answer["verified_statements"] == 1 and answer["total_statements"] == 3
    assert {s["text"] for s in answer["unsupported"]} == {
        "The agreement is governed by Cayman Islands law.",
        "Roe v. Wade, 410 U.S. 113 (1973) applies.",  # P9 was never given: not verifiable
    }
    assert all(not s["supported"] for s in answer["unsupported"])
    for statement in answer["statements"]:
        assert statement["supported"] and statement["citations"]
        for cite in statement["citations"]:
            assert _page(client, cite)[cite["start"] : cite["end"]] == cite["quote"]
    assert "410 U.S. 113" in " ".join(answer["flagged_citations"])  # not among the matter's citations
    assert "withheld" in answer["notice"]
    (request,) = cloud.bodies("/v1/chat/completions")
    assert "tools" not in request and "functions" not in request
    system = [m for m in request["messages"] if m["role"] == "system"]
    assert system and "untrusted" in system[0]["content"] and "State of Delaware" not in system[0]["content"]


def test_injected_instructions_do_not_reach_other_matters_or_pass_the_gate(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    _matter(client, wait_ready, "Walled", ("settlement.txt", OTHER_MATTER_SECRET))
    matter = _matter(client, wait_ready, "Memo", ("memo.txt", INJECTION))
    _allow_cloud(client, matter)
    # A model that obeyed the document: it "reveals" another matter and drops the question.
    cloud.script(
        Reply(
            {
                "answerable": True,
                "statements": [
                    _statement(
                        "The settlement amount is $4,750,000.",
                        "The settlement amount payable to the claimant is $4,750,000",
                    ),
                    _statement(
                        "Deliverables are accepted within ten business days.",
                        "accepted within ten business days of delivery",
                    ),
                ],
            }
        )
    )
    answer = _ask(client, matter, question="When are deliverables accepted?")
    assert [s["text"] for s in answer["statements"]] == [
        "Deliverables are accepted within ten business days."
    ]
    assert [s["text"] for s in answer["unsupported"]] == ["The settlement amount is $4,750,000."]
    (request,) = cloud.bodies("/v1/chat/completions")
    sent = json.dumps(request)
    assert "4,750,000" not in sent  # the other matter's text never left the machine
    assert "IMPORTANT SYSTEM NOTICE" in sent  # the memo is sent, but only as quoted data:
    system = next(m["content"] for m in request["messages"] if m["role"] == "system")
    assert "IMPORTANT SYSTEM NOTICE" not in system
    user = "".join(m["content"] for m in request["messages"] if m["role"] == "user")
    assert (
        user.rstrip().endswith("When are deliverables accepted?") or "When are deliverables accepted?" in user
    )


def test_local_only_matter_never_reaches_the_cloud(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    matter = _matter(client, wait_ready, "Private", ("supply.txt", SUPPLY))  # no policy: local_only
    answer = _ask(client, matter, question="Which law governs?")
    assert answer["mode"] == "extracted" and answer["statements"]
    refused = client.post(
        f"/api/v1/matters/{matter}/ask", json={"question": "Which law governs?", "mode": "generative"}
    )
    assert refused.status_code == 422
    assert cloud.count() == 0


def test_schema_violation_is_retried_once_then_falls_back_or_fails_clearly(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    matter = _matter(client, wait_ready, "Supply", ("supply.txt", SUPPLY))
    _allow_cloud(client, matter)
    cloud.script(Reply({"statements": "not a list"}), Reply({"answer": "still wrong"}))
    answer = _ask(client, matter, question="Which law governs?")
    assert cloud.count("/v1/chat/completions") == 2  # one repair attempt, showing the error
    second = json.dumps(cloud.bodies("/v1/chat/completions")[1])
    assert "statements" in second and "schema" in second.lower()
    assert answer["mode"] == "extracted" and "could not answer" in answer["notice"]
    cloud.script(Malformed(), Malformed(), Malformed(), Reply({"nope": 1}), Reply({"nope": 2}))
    failed = client.post(
        f"/api/v1/matters/{matter}/ask", json={"question": "Which law governs?", "mode": "generative"}
    )
    assert failed.status_code >= 400 and failed.headers["content-type"].startswith("application/problem+json")
    assert "schema" in failed.json()["detail"].lower() or "cloud" in failed.json()["detail"]


def test_budget_exhausted_makes_no_call(client: TestClient, cloud: FakeLLM, wait_ready: WaitReady) -> None:
    matter = _matter(client, wait_ready, "Supply", ("supply.txt", SUPPLY))
    _allow_cloud(client, matter, token_budget=10)
    answer = _ask(client, matter, question="Which law governs?")
    assert answer["mode"] == "extracted" and "budget" in answer["notice"].lower()
    assert cloud.count() == 0


def test_streamed_generated_answer(client: TestClient, cloud: FakeLLM, wait_ready: WaitReady) -> None:
    matter = _matter(client, wait_ready, "Supply", ("supply.txt", SUPPLY))
    _allow_cloud(client, matter)
    cloud.script(Reply({"answerable": True, "statements": [_statement("Delaware law governs.", DELAWARE)]}))
    with client.stream(
        "POST", f"/api/v1/matters/{matter}/ask", json={"question": "Which law governs?", "stream": True}
    ) as response:
        assert response.status_code == 200
        raw = "".join(response.iter_text())
    events = [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
        for b in raw.strip().split("\n\n")
    ]
    kinds = [k for k, _ in events]
    assert kinds[0] == "passages" and kinds[-2:] == ["answer", "done"] and "delta" in kinds
    drafted = "".join(d["text"] for k, d in events if k == "delta")
    assert json.loads(drafted)["statements"][0]["text"] == "Delaware law governs."
    answer = events[-2][1]
    assert answer["mode"] == "generated" and answer["verified_statements"] == 1
    assert cloud.bodies("/v1/chat/completions")[0]["stream"] is True


NOTICE = (
    "NOTICES\n\nAll notices under this Agreement shall be sent to the Buyer at "
    "legal@bluebird-robotics.example or by telephone to (415) 555-0134, with a copy to its outside counsel.\n"
)


def test_redacted_matter_sends_no_personal_data_and_still_verifies(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    matter = _matter(client, wait_ready, "Redacted", ("notice.txt", NOTICE))
    _allow_cloud(client, matter, redact_personal_data=True)
    quote = "sent to the Buyer at [EMAIL] or by telephone to [PHONE], with a copy"
    cloud.script(
        Reply(
            {
                "answerable": True,
                "statements": [_statement("Notices go to the Buyer by e-mail or phone.", quote)],
            }
        )
    )
    answer = _ask(client, matter, question="Where must notices be sent?")
    sent = json.dumps(cloud.bodies("/v1/chat/completions")[0])
    assert "legal@bluebird-robotics.example" not in sent and "555-0134" not in sent
    assert "[REDACTED]" in sent or "[EMAIL]" in sent  # analysis findings first, then patterns
    (statement,) = answer["statements"]
    (cite,) = statement["citations"]
    assert "legal@bluebird-robotics.example" in cite["quote"]  # the user sees the real text
    assert _page(client, cite)[cite["start"] : cite["end"]] == cite["quote"]


def test_provider_outage_falls_back_or_answers_503_with_retry_after(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    """A provider answering 500: ``auto`` falls back to extracted passages (200, with a notice),
    ``generative`` answers 503 with Retry-After, never a 500 or a 503 the client cannot pace."""
    matter = _matter(client, wait_ready, "Supply", ("supply.txt", SUPPLY))
    _allow_cloud(client, matter)
    cloud.script(*[Status(500)] * 3)
    answer = _ask(client, matter, question="Which law governs?")
    assert answer["mode"] == "extracted" and "could not answer" in answer["notice"]
    for _ in range(2):  # all attempts failing, then (breaker open) no attempt at all
        cloud.script(*[Status(500)] * 3)
        failed = client.post(
            f"/api/v1/matters/{matter}/ask", json={"question": "Which law governs?", "mode": "generative"}
        )
        assert failed.status_code == 503, failed.text
        retry_after = int(failed.headers["Retry-After"])
        assert 1 <= retry_after <= 300
        assert failed.json()["retry_after"] == retry_after
