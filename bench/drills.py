"""Fault drills, full length: 20 s outages of Redis, PostgreSQL and S3, a failing AI provider and a
SIGKILLed worker, one at a time, under a light real load (see tests/drills/harness.py).

    uv run python bench/drills.py                      # all five, 20 s outages, 4 client threads
    uv run python bench/drills.py --only redis,s3 --outage 10 --threads 2

Prints one line per drill and writes ``bench/out/drills-<timestamp>.json``. Exit code 1 when a
promise was broken (an acknowledged upload lost, a document indexed twice, a 500 or an unanswered
request, a request slower than 10 s, /ready not naming the dependency, no recovery within 30 s).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.drills.harness import (  # noqa: E402
    Deployment,
    DrillConfig,
    DrillReport,
    drill_ai,
    drill_postgres,
    drill_redis,
    drill_s3,
    drill_worker_kill,
    missing_binaries,
    print_reports,
    write_reports,
)
from tests.drills.promises import broken_promises  # noqa: E402

DRILLS = {
    "worker": lambda dep, outage: drill_worker_kill(dep),
    "redis": drill_redis,
    "postgres": drill_postgres,
    "s3": drill_s3,
    "ai": drill_ai,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(DRILLS), help="comma-separated drills, in order")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds each dependency is down")
    parser.add_argument("--threads", type=int, default=4, help="load client threads")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between a thread's requests")
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after recovery")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        sys.stderr.write(f"missing server binaries: {', '.join(missing)}\n")
        return 2
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    config = DrillConfig(
        api_processes=args.api_processes,
        load_threads=args.threads,
        pause_seconds=args.pause,
        outage_seconds=args.outage,
        before_seconds=5.0,
        after_seconds=args.after,
        drain_timeout=180.0,
    )
    started = time.monotonic()
    reports: list[DrillReport] = []
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="legalai-drills-") as tmp,
        Deployment.started(Path(tmp), config) as dep,
    ):
        setup = time.monotonic() - started
        sys.stdout.write(f"deployment up in {setup:.1f} s\n")
        for name in names:
            report = DRILLS[name](dep, args.outage)
            reports.append(report)
            print_reports([report])
            problems += [f"{name}: {p}" for p in broken_promises(report)]
    out = args.out or ROOT / "bench" / "out" / f"drills-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    write_reports(
        reports,
        out,
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip(),
            "config": {
                "outage_seconds": args.outage,
                "threads": args.threads,
                "pause_seconds": args.pause,
                "api_processes": args.api_processes,
            },
            "seconds": round(time.monotonic() - started, 1),
            "broken_promises": problems,
        },
    )
    sys.stdout.write(f"written {out}\n")
    for p in problems:
        sys.stdout.write(f"BROKEN {p}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
