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


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"fault drills need {', '.join(missing)} (Debian packages postgresql-15, redis-server)")
    with Deployment.started(tmp_path, CONFIG) as dep:
        yield dep


def _expectations(report: DrillReport) -> list[str]:
    """What each drill must show besides the common promises."""
    outage = report.during_outage
    wanted: dict[str, bool] = {
        "worker": any("killed document: ready" in n and "index events 1" in n for n in report.notes),
        # Uploads do not need Redis: acknowledged while it was down, sent later by the sweeper.
        "redis": report.uploads_acknowledged_during_outage > 0
        and not any(k.startswith("upload:5") for k in outage),
        "postgres": any(k.endswith(":503") for k in outage),
        "s3": any(k in outage for k in ("upload:503", "original:503")),
        # auto: extracted passages instead (200); generative: 503 with Retry-After.
        "ai": outage.get("ask-generative:503", 0) > 0 and not any(k.startswith("ask-auto:5") for k in outage),
    }
    return [] if wanted[report.name] else [f"unexpected answers during the outage: {outage} {report.notes}"]


def test_fault_drills(deployment: Deployment) -> None:
    """All five drills against one deployment, one after the other (one test, so the deployment
    is started once whatever order the test runner picks)."""
    drills: list[Callable[[Deployment], DrillReport]] = [
        drill_worker_kill,
        drill_redis,
        drill_postgres,
        drill_s3,
        drill_ai,
    ]
    reports: list[DrillReport] = []
    problems: list[str] = []
    for drill in drills:
        report = drill(deployment)
        reports.append(report)
        sys.stdout.write(report.line() + "\n")
        problems += [f"{report.name}: {p}" for p in broken_promises(report) + _expectations(report)]
    write_reports(reports, REPORT, {"config": "tests/drills CI length", "broken_promises": problems})
    lines = "\n".join(r.line() for r in reports)
    assert not problems, f"{lines}\n" + "\n".join(problems) + "\n" + deployment.log_tail(3000)
