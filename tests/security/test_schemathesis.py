"""Property-based API fuzzing: schemathesis drives every documented operation as an authorized owner.

What is checked on every response: no 5xx, the status code is documented, the content type is
documented, and the body matches the documented schema (errors are problem+json).

Deterministic (``derandomize=True``, no example database) and bounded (MAX_EXAMPLES per operation
and generation mode). SQLite only, rate limits off. A matter, a processed document, a second person
and a spare API key are seeded, and in positive mode the generated cases are mixed with cases that
use their real ids (and a few known-good bodies) so every operation's success path runs too; the
generated ids mostly get 404s, which is fine. The test fails unless every operation (sign-in aside)
succeeded at least once, so a broken credential cannot make it pass vacuously.

No operation is excluded. Nothing can lock the test out: the caller authenticates with an API key
(``logout`` / ``logout-all`` end web sessions only), and the only key id fed to
``/api-keys/{key_id}`` is a spare key, never the caller's own. Destructive operations (DELETE) run
last so the seeded document is still there for the read operations.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import create_identity, make_settings

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bodies that reach the success path, which random data almost never does (values naming a key of
# the seeded ids are replaced by that id).
_KNOWN_BODIES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/members"): {"user_id": "user_id"},
    ("POST", "/screens"): {"user_id": "user_id", "reason": "conflict"},
    ("POST", "/users"): {"email": "fuzzed@example.com", "password": "a long enough password"},
    ("PUT", "/ai-policy"): {"mode": "local_only"},
    ("POST", "/ask"): {"question": "Which law governs the agreement?"},
    ("PUT", "/playbooks/active"): {
        "source": "id: fuzz\nname: Fuzz\nversion: '1'\nrules:\n  - id: r\n    title: T\n"
        "    severity: low\n    explanation: E\n    check:\n      clause_missing: Governing Law\n"
    },
}
# Operations that cannot succeed here: nobody's password is known to the fuzzer.
_NEVER_SUCCEED = {"POST /api/v1/auth/login"}
_METHOD_ORDER = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path) -> Iterator[FastAPI]:
    import shutil

    from legalai.app import create_app

    db = tmp_path / "legalai.db"
    shutil.copyfile(sqlite_template, db)
    application = create_app(make_settings(tmp_path, f"sqlite:///{db}", rate_limit_enabled=False))
    yield application
    asgi.shutdown_lifespans()  # the lifespan schemathesis started for this app


def _seed(app: FastAPI, client: asgi.ASGIClient) -> dict[str, str]:
    holder = cast(TestClient, SimpleNamespace(app=app))
    owner = create_identity(holder)
    client.headers["Authorization"] = f"Bearer {owner.api_key}"
    other = create_identity(holder, email="attorney@example.com", role="attorney")
    matter = client.post("/api/v1/matters", json={"name": "Seeded matter"})
    assert matter.status_code == 201, matter.text
    matter_id = matter.json()["id"]
    uploaded = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[("files", ("seed.txt", b"The parties agree to arbitrate.\n" * 20, "text/plain"))],
    )
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["accepted"][0]["document_id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/documents/{document_id}").json()["status"] not in ("ready", "failed"):
        assert time.monotonic() < deadline, "seed document was not processed"
        time.sleep(0.1)
    spare = client.post("/api/v1/api-keys", json={"name": "spare", "scopes": ["read"]})
    assert spare.status_code == 201, spare.text
    return {
        "matter_id": matter_id,
        "document_id": document_id,
        "user_id": other.user_id,
        "key_id": spare.json()["id"],
        "number": "1",
    }


def _strategy(operation: Any, mode: GenerationMode, known: dict[str, str]) -> st.SearchStrategy[Any]:
    """Generated cases, plus (positive mode) cases aimed at the seeded objects."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    names = {p.name for p in operation.path_parameters}
    real: dict[str, Any] = {}
    if names and names <= known.keys():
        real["path_parameters"] = {name: known[name] for name in names}
    method = operation.method.upper()
    body = next(
        (b for (m, end), b in _KNOWN_BODIES.items() if m == method and operation.path.endswith(end)), None
    )
    if body is not None:
        real["body"] = {k: known.get(v, v) for k, v in body.items()}
    if not real:
        return generated
    return st.one_of(generated, operation.as_strategy(generation_mode=mode, **real))


def _summaries(exc: BaseException, case: Any) -> list[str]:
    """One short line per distinct failure (the full schemathesis report is pages long)."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    body = "" if isinstance(case.body, NotSet) else f" body={str(case.body)[:200]!r}"
    request = f"{case.method} {case.formatted_path} query={case.query}{body}"
    lines = []
    for part in parts:
        title = getattr(part, "title", type(part).__name__)
        message = " ".join(str(getattr(part, "message", part)).split())[:400]
        lines.append(f"{title}: {message}\n      e.g. {request}")
    return lines


def _explore(
    operation: Any,
    mode: GenerationMode,
    known: dict[str, str],
    client: asgi.ASGIClient,
    counts: dict[str, int],
    failures: dict[str, list[str]],
    statuses: dict[str, Counter[int]],
) -> None:
    label = f"{operation.label} [{mode.value}]"

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, mode, known))
    def run(case: Any) -> None:
        counts[label] = counts.get(label, 0) + 1
        try:
            response = case.call(session=client)
            statuses.setdefault(label, Counter())[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            found = failures.setdefault(label, [])
            for line in _summaries(exc, case):
                if not any(f.split(":")[0] == line.split(":")[0] for f in found):
                    found.append(line)  # the first example of each kind of failure

    try:
        run()
    except Unsatisfiable:
        # Negative mode has nothing to break in an operation without parameters or body.
        assert mode is GenerationMode.NEGATIVE, label


def test_schemathesis(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)  # starts the app's lifespan
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the schema lists no operations"
    operations.sort(key=lambda op: _METHOD_ORDER.get(op.method.upper(), 1))

    counts: dict[str, int] = {}
    failures: dict[str, list[str]] = {}
    statuses: dict[str, Counter[int]] = {}
    with asgi.get_client(app) as client:
        known = _seed(app, client)
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _explore(operation, mode, known, client, counts, failures, statuses)

    total = sum(counts.values())
    print(f"\nschemathesis: {total} examples over {len(operations)} operations x 2 modes")
    for label, seen in statuses.items():
        print(f"  {label}: {dict(sorted(seen.items()))}")
    assert total > 0
    # Guard against a vacuous pass (every call a documented 401, say): each operation succeeded once.
    succeeded = {
        label.rsplit(" [", 1)[0] for label, seen in statuses.items() if any(200 <= c < 300 for c in seen)
    }
    assert {op.label for op in operations} - succeeded == _NEVER_SUCCEED
    report = "\n".join(
        f"== {label}\n" + "\n".join(f"  - {m}" for m in msgs) for label, msgs in failures.items()
    )
    assert not failures, f"{len(failures)} operation/mode pairs failed:\n{report}"
