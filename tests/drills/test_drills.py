"""Fault drills under load, CI length: one deployment (PostgreSQL, Redis, moto S3, a fake AI
provider, `legalai serve` with two API processes, two `legalai worker` processes, all the test's
own), then one fault at a time with 6 s outages. Every drill checks the same promises
(tests/drills/promises.py): no acknowledged upload lost, nothing indexed twice, 503 with
Retry-After (never a 500, never a hang past 10 s) while the dependency is down, /ready naming it
and /health up, full recovery within 30 s of its return without restarting anything.

The reports are printed and written to var/drills/ci-drills.json. Full-length drills (20 s
outages, more load): bench/drills.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.drills.harness import (
    Deployment,
    DrillConfig,
    DrillReport,
    drill_ai,
    drill_postgres,
    drill_redis,
    drill_s3,
    drill_worker_kill,
    missing_binaries,
    write_reports,
)
from tests.drills.promises import broken_promises

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fault-drills")]

REPORT = Path(__file__).resolve().parents[2] / "var" / "drills" / "ci-drills.json"
CONFIG = DrillConfig(
    api_processes=2,
    workers=2,
    load_threads=2,
    pause_seconds=0.25,
    outage_seconds=6.0,
    before_seconds=2.0,
    after_seconds=2.0,
    drain_timeout=90.0,
)

_reports: list[DrillReport] = []


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"fault drills need {', '.join(missing)} (Debian packages postgresql-15, redis-server)")
    with Deployment.started(tmp_path_factory.mktemp("drills"), CONFIG) as dep:
        yield dep
    write_reports(_reports, REPORT, {"config": "tests/drills CI length"})
    for report in _reports:
        sys.stdout.write(report.line() + "\n")


def _drill(dep: Deployment, run: Callable[[Deployment], DrillReport]) -> DrillReport:
    report = run(dep)
    _reports.append(report)
    sys.stdout.write(report.line() + "\n")
    problems = broken_promises(report)
    assert not problems, f"{report.line()}\n" + "\n".join(problems) + "\n" + dep.log_tail(3000)
    return report


def test_worker_killed_mid_document(deployment: Deployment) -> None:
    report = _drill(deployment, drill_worker_kill)
    assert any("killed document: ready" in n and "index events 1" in n for n in report.notes), report.notes


def test_redis_restart(deployment: Deployment) -> None:
    report = _drill(deployment, drill_redis)
    # Uploads do not need Redis: acknowledged while it was down, sent later by the sweeper.
    assert report.uploads_acknowledged_during_outage > 0
    assert not any(k.startswith("upload:5") for k in report.during_outage), report.during_outage


def test_postgres_stop_and_start(deployment: Deployment) -> None:
    report = _drill(deployment, drill_postgres)
    refused = {k: v for k, v in report.during_outage.items() if k.endswith(":503")}
    assert refused, report.during_outage


def test_s3_frozen(deployment: Deployment) -> None:
    report = _drill(deployment, drill_s3)
    assert any(k in report.during_outage for k in ("upload:503", "original:503")), report.during_outage


def test_ai_provider_failing(deployment: Deployment) -> None:
    report = _drill(deployment, drill_ai)
    # auto: extracted passages instead (200); generative: 503 with Retry-After.
    assert report.during_outage.get("ask-generative:503", 0) > 0, report.during_outage
    assert not any(k.startswith("ask-auto:5") for k in report.during_outage), report.during_outage
