"""Hybrid retrieval: vectors stored by the pipeline, fusion, matter scoping, backfill, evaluation."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from legalai.accounts.principal import Principal
from legalai.cli import app
from legalai.documents.models import Chunk
from legalai.documents.repository import DocumentFilter
from legalai.evaluation.retrieval import QUESTIONS, first_hit_rank, fold, is_hit, load_spans
from legalai.kit.db import transaction
from legalai.kit.errors import NotFound
from legalai.retrieval.dense import decode_vectors
from legalai.retrieval.hybrid import fuse, question_query
from legalai.retrieval.terms import question_terms
from tests.ask.corpus import LEASE, OTHER_MATTER_SECRET, SUPPLY
from tests.conftest import upload

WaitReady = Callable[..., list[dict[str, Any]]]


def test_question_terms_drop_scaffolding_and_keep_order() -> None:
    assert question_terms("Which jurisdiction's law governs this agreement?") == [
        "jurisdiction",
        "law",
        "governs",
    ]
    assert question_terms("Is there a non-compete?") == ["non", "compete"]
    assert question_terms("What is it?") == []
    assert question_query("What is it?") is None
    query = question_query("termination for convenience")
    assert query is not None and len(query.groups) == 2  # any word may match


def test_weighted_reciprocal_rank_fusion() -> None:
    fused = fuse({"lexical": [1, 2, 3], "dense": [3, 1]})
    assert [cid for cid, _, _ in fused] == [1, 3, 2]
    assert fused[0][2] == {"lexical": 1, "dense": 2}
    weighted = fuse({"lexical": [1, 2, 3], "clause": [3]}, {"clause": 3.0})
    assert weighted[0][0] == 3


def test_span_matching_follows_the_convention() -> None:
    span = (
        "This Agreement shall be governed by the laws of the State of Delaware, without regard to conflicts."
    )
    assert fold("Governed   by\nthe LAWS,") == "governed by the laws"
    assert is_hit("Section 3. " + span + " More text.", [span])
    assert is_hit("the laws of the State of Delaware", [span])  # a passage inside the span
    assert not is_hit("This Agreement shall be governed by the laws of New York.", [span])
    assert first_hit_rank(["nothing", "x " + span], [span]) == 2
    assert first_hit_rank(["nothing"] * 12 + [span], [span]) is None  # beyond the MRR depth


def _ingest(client: TestClient, matter_id: str, wait_ready: WaitReady, *files: tuple[str, str]) -> list[str]:
    body = upload(client, matter_id, *[(n, t.encode()) for n, t in files])
    ids = [a["document_id"] for a in body["accepted"]]
    # Ready is searchable; the vectors come with the embedding stage, waited for here too.
    assert all(d["status"] == "ready" for d in wait_ready(client, ids, stages=True))
    return ids


def test_pipeline_stores_unit_vectors_and_hybrid_finds_the_clause(
    client: TestClient, matter_id: str, wait_ready: WaitReady, tmp_path: Path
) -> None:
    supply_id, lease_id = _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY), ("lease.txt", LEASE))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    embedder = runtime.retrieval.embedder()
    with runtime.sessions() as session:
        rows = session.execute(
            select(Chunk.embedding, Chunk.embedding_model).where(Chunk.matter_id == matter_id)
        ).all()
        assert rows and all(model == embedder.version for _, model in rows)
        vectors = decode_vectors([blob for blob, _ in rows], embedder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
        org = session.scalar(select(Chunk.organization_id).where(Chunk.matter_id == matter_id))
        principal = Principal(organization_id=str(org))
        retriever = runtime.retrieval.retriever
        for mode in ("lexical", "dense", "hybrid"):
            found = retriever.retrieve(
                session,
                principal,
                matter_id,
                "What insurance must the tenant carry?",
                mode=mode,  # type: ignore[arg-type]
            )
            assert found and found[0].document_id == lease_id, mode
            assert "liability insurance" in found[0].text
        only = retriever.retrieve(
            session, principal, matter_id, "insurance", DocumentFilter(document_id=supply_id), limit=10
        )
        assert {p.document_id for p in only} == {supply_id}


def test_missing_vectors_are_backfilled_and_new_documents_seen(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    (supply_id,) = _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    retriever = runtime.retrieval.retriever
    with transaction(runtime.sessions) as session:  # as if processed before vectors existed
        session.execute(
            update(Chunk).where(Chunk.matter_id == matter_id).values(embedding=None, embedding_model=None)
        )
        org = session.scalar(select(Chunk.organization_id).where(Chunk.matter_id == matter_id))
    principal = Principal(organization_id=str(org))
    with runtime.sessions() as session:
        found = retriever.retrieve(
            session, principal, matter_id, "governing law of the contract", mode="dense"
        )
        assert found and found[0].document_id == supply_id
    with runtime.sessions() as session:  # written back, in a transaction of its own
        models = session.scalars(select(Chunk.embedding_model).where(Chunk.matter_id == matter_id)).all()
        assert models and set(models) == {runtime.retrieval.embedder().version}
    (lease_id,) = _ingest(client, matter_id, wait_ready, ("lease.txt", LEASE))
    with runtime.sessions() as session:
        found = retriever.retrieve(session, principal, matter_id, "monthly rent premises", mode="dense")
        assert found[0].document_id == lease_id  # the cached matrix was refreshed


def test_retrieval_is_scoped_to_what_the_principal_may_read(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    other = client.post("/api/v1/matters", json={"name": "Walled matter"}).json()["id"]
    _ingest(client, other, wait_ready, ("settlement.txt", OTHER_MATTER_SECRET))
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.sessions() as session:
        org = session.scalar(select(Chunk.organization_id).where(Chunk.matter_id == matter_id))
        walled = Principal(
            organization_id=str(org), kind="user", user_id="u", matter_ids=frozenset({matter_id})
        )
        found = runtime.retrieval.retriever.retrieve(session, walled, matter_id, "settlement amount Nevada")
        assert all("4,750,000" not in p.text for p in found)
        try:
            runtime.retrieval.retriever.retrieve(session, walled, other, "settlement amount")
        except NotFound:
            pass
        else:
            raise AssertionError("a matter behind the wall was searched")


def _labels(path: Path, rows: list[dict[str, str]]) -> None:
    fields = ["contract_file", *QUESTIONS]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="[]")
        writer.writeheader()
        writer.writerows(rows)


def test_eval_retrieval_json_shape(tmp_path: Path) -> None:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "supply.txt").write_text(SUPPLY, encoding="utf-8")
    (folder / "lease.txt").write_text(LEASE, encoding="utf-8")
    labels = tmp_path / "labels.csv"
    _labels(
        labels,
        [
            {
                "contract_file": "supply.txt",
                "Governing Law": repr(
                    ["This Agreement shall be governed by and construed in accordance with the laws of"]
                ),
                "Anti-Assignment": repr(
                    ["Neither party may assign this Agreement without the prior written consent"]
                ),
            },
            {
                "contract_file": "lease.txt",
                "Insurance": repr(["The Tenant shall maintain public liability insurance"]),
            },
            {"contract_file": "absent.txt", "Insurance": repr(["not in the folder"])},
        ],
    )
    assert load_spans(labels)["lease.txt"] == {
        "Insurance": ["The Tenant shall maintain public liability insurance"]
    }
    result = CliRunner().invoke(
        app, ["eval", "retrieval", "--contracts", str(folder), "--labels", str(labels), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for mode in ("lexical", "dense", "hybrid"):
        assert out[mode]["n"] == 3
        assert 0.0 <= out[mode]["mrr"] <= 1.0 and 0.0 <= out[mode]["recall_at_5"] <= 1.0
    assert out["hybrid"]["recall_at_5"] == 1.0  # two short contracts: every clause is in the top 5
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps({"Insurance": "What cover must be kept?"}), encoding="utf-8")
    narrowed = CliRunner().invoke(
        app,
        [
            "eval",
            "retrieval",
            "--contracts",
            str(folder),
            "--labels",
            str(labels),
            "--questions",
            str(questions),
            "--json",
        ],
    )
    assert narrowed.exit_code == 0, narrowed.output
    assert json.loads(narrowed.stdout)["lexical"]["n"] == 1
    bad = CliRunner().invoke(
        app, ["eval", "retrieval", "--contracts", str(tmp_path / "nope"), "--labels", str(labels)]
    )
    assert bad.exit_code == 2
