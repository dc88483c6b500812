"""The load test works end to end on a small firm: bench/load/run.py, embedded shape.

Runs the script as a subprocess (Locust uses gevent, which must never be imported into the pytest
process): a fresh `legalai serve` on SQLite, a firm of 6 people seeded through the REST API,
6 virtual users for 20 s, the uploads followed until processed. Asserts that the script ran and
that the server answered no request with a 5xx (or a 429: the mix stays inside the per-person
limits). Timing is not asserted: this machine is shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("load-smoke")]


def test_load_run_smoke(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable, str(ROOT / "bench" / "load" / "run.py"), "--shape", "embedded",
        "--people", "6", "--matters", "2", "--docs-per-matter", "3", "--templates", "3",
        "--users", "6", "--spawn-rate", "6", "--duration", "20", "--drain-timeout", "30",
        "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = json.loads((out / "results.json").read_text())

    seed = results["seed"]
    assert seed["people"] == 6 and seed["matters"] == 2
    assert seed["seed_documents"]["timed_out_matters"] == 0
    assert {"text", "pdf", "docx", "email"} <= set(seed["seed_documents"]["kinds"]) or seed["seed_documents"][
        "documents"
    ] >= 6

    totals = results["totals"]
    server_log = results["server_log"]
    assert totals["requests"] >= 30, totals
    assert totals["status_5xx"] == 0, (results["load"]["server_errors"][:5], server_log["errors"][:5])
    assert server_log["http_5xx_logged"] == {}, server_log
    assert totals["status_429"] == 0, results["load"]["statuses"]
    routes = {f"{r['method']} {r['route']}" for r in results["routes"]}
    assert {"GET /api/v1/matters", "GET /api/v1/matters/{id}/search", "POST /api/v1/auth/login"} <= routes

    assert results["processes"]["samples"] >= 3
    assert any(p["label"] == "api" for p in results["processes"]["processes"])
    assert "api" in results["processes"]["trees"] and "locust" in results["processes"]["trees"]
    assert results["machine"]["cores"] >= 1
    # The table is printed, and every process the run started is gone (its port answers no more).
    assert "route" in proc.stdout and "uploads:" in proc.stdout
