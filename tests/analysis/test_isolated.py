"""Analyses computed in a child process (the embedded default): the same result as in-process, a
child that dies fails only the analysis in flight, and the API process never runs the analyzers."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from legalai.analysis import pipeline
from legalai.analysis.isolated import AnalysisPool, AnalysisProcessDied
from legalai.analysis.pipeline import PageText, analyze_pages, default_analyzers
from legalai.app import create_app
from legalai.runtime import build_runtime
from tests.conftest import authorize, make_settings, upload

Wait = Callable[..., list[dict[str, Any]]]
CONTRACT = (
    'MASTER SERVICES AGREEMENT dated March 3, 2024 between Acme Corp. ("Acme") and Widget LLC. '
    "This Agreement shall be governed by the laws of the State of New York. Either party may terminate "
    "on thirty days' written notice. Neither party shall compete with the other for two years. "
    "Contact jane.doe@example.com."
)


def _without_timings(result: dict[str, Any]) -> dict[str, Any]:
    stats = {k: v for k, v in result["stats"].items() if k not in ("timings_ms", "total_ms")}
    return {**result, "stats": stats}


def test_the_child_computes_what_this_process_computes() -> None:
    pages = [PageText(1, CONTRACT), PageText(2, CONTRACT.replace("Acme", "Apex"))]
    pool = AnalysisPool()
    try:
        isolated = pool.analyze(None, pages, 1_000_000)
        [child] = pool.pids()
        assert child != os.getpid()
        again = pool.analyze(None, pages, 1_000_000)  # the same child, its analyzers kept
        assert pool.pids() == [child]
    finally:
        pool.close()
    local = analyze_pages(pages, default_analyzers(), max_chars=1_000_000)
    assert _without_timings(isolated) == _without_timings(local) == _without_timings(again)
    assert isolated["governing_law"]["jurisdiction"] == "New York"
    assert pool.pids() == []


def test_a_child_killed_mid_analysis_fails_that_analysis_only() -> None:
    long_text = [PageText(n, CONTRACT * 40) for n in range(1, 400)]
    pool = AnalysisPool()
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            pool.analyze(None, long_text, 100_000_000)
        except BaseException as exc:  # recorded for the assertion
            outcome["error"] = exc

    try:
        pool.analyze(None, [PageText(1, CONTRACT)], 1_000_000)  # started, models loaded
        [child] = pool.pids()
        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        os.kill(child, signal.SIGKILL)
        thread.join(30)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), AnalysisProcessDied)
        result = pool.analyze(None, [PageText(1, CONTRACT)], 1_000_000)  # a new child takes over
        assert result["governing_law"]["jurisdiction"] == "New York"
        assert pool.pids() and pool.pids() != [child]
    finally:
        pool.close()


def test_the_embedded_default_analyzes_outside_the_api_process(
    tmp_path: Path, database_url: str, wait_analyzed: Wait, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, database_url)
    assert settings.effective_worker_mode == "inprocess" and settings.effective_analysis_isolated
    calls: list[int] = []
    original = pipeline.analyze_pages

    def counted(*args: Any, **kwargs: Any) -> Any:  # only reached if this process analyzes
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr("legalai.analysis.service.analyze_pages", counted)
    runtime = build_runtime(settings)
    try:
        assert runtime.analysis.pool is not None
        with TestClient(create_app(settings, runtime=runtime)) as client:
            authorize(client)
            matter = client.post("/api/v1/matters", json={"name": "Isolated"}).json()["id"]
            [item] = upload(client, matter, ("msa.txt", CONTRACT.encode()))["accepted"]
            [doc] = wait_analyzed(client, [item["document_id"]])
            assert doc["analysis_status"] == "done"
            body = client.get(f"/api/v1/documents/{doc['id']}/analysis").json()
            assert body["status"] == "ready" and body["governing_law"]["jurisdiction"] == "New York"
            [child] = runtime.analysis.pool.pids()
            assert child != os.getpid()
        assert calls == []
    finally:
        runtime.close()
    assert runtime.analysis.pool.pids() == []


def test_isolation_can_be_switched_off_and_a_standalone_worker_analyzes_in_its_threads(
    tmp_path: Path, database_url: str
) -> None:
    off = make_settings(tmp_path, database_url, analysis_isolated=False)
    assert not off.effective_analysis_isolated
    runtime = build_runtime(off)
    try:
        assert runtime.analysis.pool is None
    finally:
        runtime.close()
    external = make_settings(tmp_path, database_url, worker_mode="external")
    assert external.effective_worker_mode == "external" and not external.effective_analysis_isolated
