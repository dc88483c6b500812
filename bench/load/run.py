"""One command for the load test: start the target, seed a firm, run Locust, measure, clean up.

    uv run python bench/load/run.py --shape embedded   --users 30 --duration 60
    uv run python bench/load/run.py --shape production --users 30 --duration 60 --api-processes 2 --workers 2

embedded    ``legalai db upgrade`` + ``legalai serve`` on a fresh data directory, as ``make run``
            starts it: SQLite, local blobs, the in-process worker.
production  a fresh database on the PostgreSQL server of ``--postgres-url`` (created, then dropped),
            its own ``redis-server`` on a free port, a moto S3 server on loopback, ``legalai serve``
            with ``LEGALAI_API_PROCESSES`` API processes and ``--workers`` ``legalai worker``
            processes, with ``LEGALAI_ENVIRONMENT=production``.

Then: the owner is created with the set-up link the server prints on first start (the form at
``/setup``; ``legalai admin create-user`` when there is none), ``seed.py`` prepares the firm
through the REST API, Locust runs headless as a subprocess, uploads still pending at the end are
followed until they finish (``--drain-timeout``), and CPU and RSS of every process of the target
(and of Locust) are sampled from /proc every ``--sample-interval`` seconds. Results go to
``<out>/results.json`` and a table on stdout; everything started is stopped, also on Ctrl-C or an
error. Exit code: 0 when the run completed (whatever the server did), 1 when the script could not
run it (the target did not start, seeding failed, Locust did not run).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import seed as seeding  # noqa: E402
from results import processing_seconds, summarize_uploads  # noqa: E402

BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
OWNER_EMAIL = "owner@firm.example"


class RunError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> list[str]:
    """A console script of this environment (``legalai``, ``locust``), as ``uv run`` would run it."""
    path = BIN / name
    if path.exists():
        return [str(path)]
    found = shutil.which(name)
    if not found:
        raise RunError(f"{name} is not installed in this environment (uv sync --group dev)")
    return [found]


# ---- processes ----------------------------------------------------------------------------------


class Processes:
    """Everything this run started, stopped in reverse order (SIGTERM, then SIGKILL)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self.cleanups: list[tuple[str, Any]] = []

    def start(
        self, name: str, cmd: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc, log))
        return proc

    def roots(self) -> dict[str, int]:
        return {name: p.pid for name, p, _ in self.started if p.poll() is None}

    def check_alive(self) -> None:
        dead = [(n, p.returncode) for n, p, _ in self.started if p.poll() is not None and n != "locust"]
        if dead:
            raise RunError(f"process(es) exited: {dead}; see {self.logs}")

    def stop(self, name: str, timeout: float = 30.0) -> None:
        for n, proc, log in list(self.started):
            if n != name:
                continue
            _terminate(proc, timeout)
            log.close()
            self.started.remove((n, proc, log))

    def stop_all(self) -> None:
        for name, proc, log in reversed(self.started):
            try:
                _terminate(proc, 30.0)
            except Exception as exc:
                print(f"could not stop {name}: {exc}", file=sys.stderr)
            log.close()
        self.started.clear()
        for name, fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:
                print(f"cleanup {name} failed: {exc}", file=sys.stderr)
        self.cleanups.clear()


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop a process we started and its own children (its process group), politely first."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with contextlib.suppress(ProcessLookupError):  # children left in the group (extraction, uvicorn)
        os.killpg(proc.pid, signal.SIGKILL)


def wait_http(url: str, timeout: float, procs: Processes, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status in ok:
                    return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
            if exc.code in ok:
                return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RunError(f"{url} did not answer in {timeout:.0f} s ({last})")


# ---- /proc sampling -----------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line) of every process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        table[int(entry)] = (ppid, cmd.strip())
    return table


def _usage(pid: int) -> tuple[int, int] | None:
    """(CPU ticks user+system, RSS kB) of a process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return None


def _label(root: str, pid: int, root_pid: int, cmd: str) -> str:
    if pid == root_pid:
        return root
    if "multiprocessing.forkserver" in cmd or "forkserver" in cmd:
        return f"{root}: extraction forkserver"
    if "multiprocessing.spawn" in cmd or "spawn_main" in cmd:
        return f"{root}: API process" if root == "api" else f"{root}: child"
    if "resource_tracker" in cmd:
        return f"{root}: resource tracker"
    if "tesseract" in cmd:
        return f"{root}: tesseract"
    return f"{root}: child ({cmd.split(' ')[0].rsplit('/', 1)[-1][:20] or '?'})"


class Sampler(threading.Thread):
    """CPU ticks and RSS of every process in the trees we started, every ``interval`` seconds."""

    def __init__(self, procs: Processes, interval: float, pg_pids: Any = None) -> None:
        super().__init__(daemon=True, name="sampler")
        self.procs = procs
        self.interval = interval
        self.pg_pids = pg_pids  # callable returning PostgreSQL backend pids of our database
        self.samples: list[dict[str, Any]] = []
        self.phase = "start"
        self.marks: dict[str, float] = {}
        self._stop = threading.Event()
        self.t0 = time.monotonic()

    def mark(self, phase: str) -> None:
        self.phase = phase
        self.marks[phase] = round(time.monotonic() - self.t0, 2)
        self.sample()

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        try:
            table = _proc_table()
            children: dict[int, list[int]] = defaultdict(list)
            for pid, (ppid, _cmd) in table.items():
                children[ppid].append(pid)
            roots = self.procs.roots()
            rows: dict[str, Any] = {}
            for name, root_pid in roots.items():
                stack = [root_pid]
                while stack:
                    pid = stack.pop()
                    stack.extend(children.get(pid, []))
                    usage = _usage(pid)
                    if usage is None:
                        continue
                    label = _label(name, pid, root_pid, table.get(pid, (0, ""))[1])
                    rows[str(pid)] = {"label": label, "root": name, "ticks": usage[0], "rss_kb": usage[1]}
            if self.pg_pids is not None:
                for pid in self.pg_pids():
                    usage = _usage(pid)
                    if usage is not None:
                        rows[str(pid)] = {
                            "label": "postgres backend",
                            "root": "postgres (this database)",
                            "ticks": usage[0],
                            "rss_kb": usage[1],
                        }
            load1 = float(Path("/proc/loadavg").read_text().split()[0])
            self.samples.append(
                {
                    "t": round(time.monotonic() - self.t0, 2),
                    "phase": self.phase,
                    "load1": load1,
                    "procs": rows,
                }
            )
        except Exception as exc:  # sampling must never break the run
            print(f"sampler: {exc}", file=sys.stderr)

    def summary(self) -> dict[str, Any]:
        """Per long-lived process: RSS at load start, end and peak; CPU % during the load phase."""
        load = [s for s in self.samples if s["phase"] == "load"]
        window = load or self.samples
        per_pid: dict[str, list[tuple[float, str, dict[str, Any]]]] = defaultdict(list)
        for s in self.samples:
            for pid, row in s["procs"].items():
                per_pid[pid].append((s["t"], s["phase"], row))
        processes = []
        roots: dict[str, dict[str, float]] = defaultdict(lambda: {"cpu_s_load": 0.0, "processes_seen": 0})
        t_load = (window[-1]["t"] - window[0]["t"]) if len(window) > 1 else 0.0
        for pid, seen in per_pid.items():
            label, root = seen[0][2]["label"], seen[0][2]["root"]
            in_load = [(t, row) for t, phase, row in seen if phase == "load"]
            roots[root]["processes_seen"] += 1
            cpu_load = 0.0
            if len(in_load) > 1:
                cpu_load = (in_load[-1][1]["ticks"] - in_load[0][1]["ticks"]) / CLK_TCK
                roots[root]["cpu_s_load"] += cpu_load
            if len(seen) < 3 or root.startswith("postgres"):
                continue  # short-lived children (extractions) and database backends: in their tree only
            span = (in_load[-1][0] - in_load[0][0]) if len(in_load) > 1 else 0.0
            processes.append(
                {
                    "pid": int(pid),
                    "label": label,
                    "rss_mb_load_start": round(in_load[0][1]["rss_kb"] / 1024, 1) if in_load else None,
                    "rss_mb_load_end": round(in_load[-1][1]["rss_kb"] / 1024, 1) if in_load else None,
                    "rss_mb_peak": round(max(r["rss_kb"] for _t, _p, r in seen) / 1024, 1),
                    "rss_mb_first": round(seen[0][2]["rss_kb"] / 1024, 1),
                    "cpu_pct_load": round(100 * cpu_load / span, 1) if span else None,
                    "cpu_s_total": round((seen[-1][2]["ticks"] - seen[0][2]["ticks"]) / CLK_TCK, 1),
                }
            )
        processes.sort(key=lambda p: (p["label"], p["pid"]))
        trees = {
            name: {
                "cpu_s_load": round(v["cpu_s_load"], 1),
                "cpu_pct_load": round(100 * v["cpu_s_load"] / t_load, 1) if t_load else None,
                "processes_seen": int(v["processes_seen"]),
            }
            for name, v in sorted(roots.items())
        }
        for name, tree in trees.items():
            sums = [
                (s["phase"], sum(r["rss_kb"] for r in s["procs"].values() if r["root"] == name) / 1024)
                for s in self.samples
            ]
            in_load = [v for phase, v in sums if phase == "load"]
            tree["rss_mb_sum_load_start"] = round(in_load[0], 1) if in_load else None
            tree["rss_mb_sum_load_end"] = round(in_load[-1], 1) if in_load else None
            tree["rss_mb_sum_peak"] = round(max(v for _p, v in sums), 1) if sums else None
        loads = [s["load1"] for s in window]
        return {
            "interval_s": self.interval,
            "samples": len(self.samples),
            "marks": self.marks,
            "processes": processes,
            "trees": trees,
            "load1_during_load": {"min": min(loads), "max": max(loads)} if loads else {},
        }


# ---- the target ---------------------------------------------------------------------------------


def create_owner(base: str, env: dict[str, str], logs: Path, out: Path, password: str) -> str:
    """The first owner, by the one-time set-up link the server prints on its first start (as a
    person would, with the form at /setup); by `legalai admin create-user` if there is no link."""
    import httpx

    found = re.findall(r"/setup\?token=([A-Za-z0-9_\-]+)", (logs / "api.log").read_text(errors="replace"))
    if found:
        form = {"token": found[-1], "organization": "Load Firm", "email": OWNER_EMAIL, "password": password}
        r = httpx.post(f"{base}/setup", data=form, timeout=60)
        if r.status_code == 303:
            return "set-up link"
    subprocess.run(
        [*tool("legalai"), "admin", "create-user", "--email", OWNER_EMAIL, "--organization", "Load Firm",
         "--role", "owner"],
        env={**env, "LEGALAI_NEW_PASSWORD": password}, check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    return "legalai admin create-user"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEGALAI_", "LOCUST_", "LOAD_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_embedded(
    args: argparse.Namespace, out: Path, procs: Processes
) -> tuple[str, dict[str, str], dict[str, Any]]:
    env = clean_env()
    env["LEGALAI_DATA_DIR"] = str(out / "data")
    port = args.port or free_port()
    # As `make run`: `legalai serve` on SQLite, which applies the migrations itself before serving.
    procs.start("api", [*tool("legalai"), "serve", "--host", "127.0.0.1", "--port", str(port)], env, cwd=out)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/ready", args.start_timeout, procs)
    return base, env, {"database": "sqlite", "storage": "local", "queue": "in-process", "api_processes": 1}


def start_production(
    args: argparse.Namespace, out: Path, procs: Processes, stamp: str
) -> tuple[str, dict[str, str], dict[str, Any], Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # PostgreSQL: our own database on the shared server, dropped at the end.
    db_name = f"legalai_load_{stamp}"
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))

    def drop_db() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()

    procs.cleanups.append(("drop database", drop_db))
    db_url = make_url(args.postgres_url).set(database=db_name).render_as_string(hide_password=False)

    def pg_pids() -> list[int]:
        with admin.connect() as conn:
            rows = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": db_name})
            return [int(r[0]) for r in rows]

    # Redis: our own server, no persistence.
    redis_port = free_port()
    (out / "redis").mkdir()
    procs.start(
        "redis",
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--dir", str(out / "redis")],
        clean_env(),
    )  # fmt: skip
    # S3: moto's server on loopback, as tests/fixtures/s3server.py starts it.
    s3_port = free_port()
    procs.start(
        "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)], clean_env()
    )
    s3_url = f"http://127.0.0.1:{s3_port}"
    wait_http(s3_url, 60, procs, ok=(200, 403, 404))
    _wait_redis(redis_port, procs)
    from legalai.storage.s3 import S3BlobStore

    bucket = f"legalai-load-{stamp.replace('_', '-')}"
    S3BlobStore(
        bucket, endpoint_url=s3_url, access_key_id="testing", secret_access_key="testing"
    ).ensure_bucket()

    env = clean_env()
    env.update(
        {
            "LEGALAI_ENVIRONMENT": "production",
            "LEGALAI_DATA_DIR": str(out / "data"),
            "LEGALAI_DATABASE_URL": db_url,
            "LEGALAI_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "LEGALAI_STORAGE_BACKEND": "s3",
            "LEGALAI_S3_BUCKET": bucket,
            "LEGALAI_S3_ENDPOINT_URL": s3_url,
            "LEGALAI_S3_ACCESS_KEY_ID": "testing",
            "LEGALAI_S3_SECRET_ACCESS_KEY": "testing",
            "LEGALAI_SECRET_KEY": secrets.token_urlsafe(48),
            "LEGALAI_API_PROCESSES": str(args.api_processes),
            # Plain HTTP on loopback: a TLS proxy would sit in front in a real deployment.
            "LEGALAI_SESSION_COOKIE_SECURE": "false",
        }
    )
    (out / "data").mkdir(exist_ok=True)
    subprocess.run([*tool("legalai"), "db", "upgrade"], env=env, check=True, capture_output=True, cwd=out)
    port = args.port or free_port()
    procs.start("api", [*tool("legalai"), "serve", "--host", "127.0.0.1", "--port", str(port)], env, cwd=out)
    for i in range(args.workers):
        procs.start(f"worker{i + 1}", [*tool("legalai"), "worker"], env, cwd=out)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/ready", args.start_timeout, procs)
    target = {
        "database": f"postgresql ({db_name})",
        "storage": "s3 (moto server)",
        "queue": f"redis (port {redis_port})",
        "api_processes": args.api_processes,
        "worker_processes": args.workers,
    }
    return base, env, target, pg_pids


def _wait_redis(port: int, procs: Processes) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RunError(f"redis-server on port {port} did not answer")


# ---- after the run ------------------------------------------------------------------------------


def drain(base: str, people: list[dict[str, Any]], uploads: list[dict[str, Any]], timeout: float) -> float:
    """Follow the uploads still queued or processing until they finish or ``timeout`` passes, each
    as the person who uploaded it (membership decides who may see a document: an admin who is not
    a member of the matter gets 404)."""
    import httpx

    started = time.monotonic()
    pending = [u for u in uploads if u["status"] not in ("ready", "failed")]
    clients: dict[int, httpx.Client] = {}
    by_index = {p["index"]: p for p in people}

    def client_of(index: int) -> httpx.Client:
        if index not in clients:
            person = by_index[index]
            transport = httpx.HTTPTransport(local_address=person["address"])
            http = httpx.Client(base_url=base, transport=transport, timeout=30)
            if person.get("api_key"):
                http.headers["Authorization"] = f"Bearer {person['api_key']}"
            else:
                signed_in = http.post(
                    "/api/v1/auth/login", json={"email": person["email"], "password": person["password"]}
                )
                signed_in.raise_for_status()
            clients[index] = http
        return clients[index]

    try:
        while pending and time.monotonic() - started < timeout:
            for u in list(pending):
                try:
                    r = client_of(u["person"]).get(f"/api/v1/documents/{u['document_id']}")
                except httpx.HTTPError:
                    continue
                if r.status_code in (429, 503):
                    time.sleep(float(r.headers.get("retry-after", "2")))
                    continue
                if r.status_code != 200:
                    continue
                doc = r.json()
                u["status"] = doc["status"]
                if doc["status"] in ("ready", "failed"):
                    u["reason"] = doc.get("failure_reason")
                    u["processing_s"] = processing_seconds(doc)
                    pending.remove(u)
            if pending:
                time.sleep(2.0)
    finally:
        for http in clients.values():
            http.close()
    return round(time.monotonic() - started, 1)


def read_stats(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    with path.open() as fh:
        for r in csv.DictReader(fh):

            def num(key: str, r: dict[str, str] = r) -> float | None:
                value = r.get(key, "")
                return float(value) if value not in ("", "N/A") else None

            rows.append(
                {
                    "method": r["Type"],
                    "route": r["Name"],
                    "requests": int(r["Request Count"]),
                    "failures": int(r["Failure Count"]),
                    "rps": num("Requests/s"),
                    "p50_ms": num("50%"),
                    "p95_ms": num("95%"),
                    "p99_ms": num("99%"),
                    "max_ms": num("Max Response Time"),
                    "avg_ms": num("Average Response Time"),
                }
            )
    return rows


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def server_log_errors(logs: Path, request_ids: set[str]) -> dict[str, Any]:
    """5xx and unhandled errors in the target's JSON logs, grouped by error and innermost frame."""
    status_5xx: Counter[str] = Counter()
    groups: dict[str, dict[str, Any]] = {}
    other_errors: Counter[str] = Counter()
    lines_5xx: list[str] = []
    for path in sorted(logs.glob("*.log")):
        if path.stem in ("locust", "seed", "s3", "redis"):
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.get("event", "")
            if name == "http.request" and int(event.get("status", 0)) >= 500:
                status_5xx[f"{event.get('method')} {event.get('route')} {event.get('status')}"] += 1
                if len(lines_5xx) < 20:
                    lines_5xx.append(f"{path.name}: {line[:400]}")
            elif name == "request.unhandled_error" or (event.get("level") in ("error", "critical")):
                exc = str(event.get("exception", ""))
                frames = _FRAME.findall(exc)
                own = [f for f in frames if "/src/legalai/" in f[0]]
                where = own[-1] if own else (frames[-1] if frames else None)
                last_line = exc.strip().splitlines()[-1] if exc.strip() else event.get("error", "")
                location = f"{where[0].split('/src/')[-1]}:{where[1]} in {where[2]}" if where else "-"
                key = f"{name} | {last_line[:200]} | {location}"
                innermost = "-"
                if frames:
                    innermost = f"{frames[-1][0].rsplit('/', 1)[-1]}:{frames[-1][1]} in {frames[-1][2]}"
                g = groups.setdefault(
                    key,
                    {
                        "event": name,
                        "error": last_line[:300],
                        "where": location,
                        "innermost": innermost,
                        "count": 0,
                        "request_ids": [],
                        "log": path.name,
                    },
                )
                g["count"] += 1
                rid = event.get("request_id")
                if rid and len(g["request_ids"]) < 5:
                    g["request_ids"].append(rid)
            elif event.get("level") == "warning":
                other_errors[name] += 1
    seen_ids = {rid for g in groups.values() for rid in g["request_ids"]}
    return {
        "http_5xx_logged": dict(status_5xx),
        "errors": sorted(groups.values(), key=lambda g: -g["count"]),
        "warnings": dict(other_errors.most_common(15)),
        "first_5xx_lines": lines_5xx,
        "client_5xx_request_ids_found_in_log": len(request_ids & seen_ids),
    }


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    from importlib.metadata import version

    return {
        "cores": os.cpu_count(),
        "cpu": cpu.group(1).strip() if cpu else platform.processor(),
        "ram_gb": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "locust": version("locust"),
        "load1_before": float(Path("/proc/loadavg").read_text().split()[0]),
    }


# ---- report -------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(
        h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for r in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def render(results: dict[str, Any]) -> str:
    out: list[str] = []
    m, cfg = results["machine"], results["config"]
    out.append(
        f"legalai load test: {cfg['shape']}, {cfg['users']} users (spawn {cfg['spawn_rate']}/s), "
        f"{cfg['duration_s']} s, think {cfg['think_s']} s; {results['target']}"
    )
    out.append(
        f"machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}, locust {m['locust']}; load average before {m['load1_before']}, "
        f"during {results['processes'].get('load1_during_load')}"
    )
    seed = results.get("seed") or {}
    if seed:
        docs = seed.get("seed_documents", {})
        out.append(
            f"seed: {seed.get('people')} people ({seed.get('people_with_keys')} with keys, "
            f"{seed.get('people_with_passwords')} with passwords), {seed.get('matters')} matters, "
            f"{docs.get('documents')} documents {docs.get('statuses')}, {seed.get('seconds')} s"
        )
    out.append("")
    rows = []
    statuses = results["load"].get("statuses", {})
    for r in results["routes"]:
        counts = statuses.get(f"{r['method']} {r['route']}", {})
        n5 = sum(v for k, v in counts.items() if int(k) >= 500)
        n429 = counts.get("429", 0)
        rows.append(
            [r["method"], r["route"], _fmt(r["requests"]), _fmt(r["failures"]), _fmt(n5), _fmt(n429),
             _fmt(r["rps"], 2), _fmt(r["p50_ms"]), _fmt(r["p95_ms"]), _fmt(r["p99_ms"]), _fmt(r["max_ms"])]
        )  # fmt: skip
    out.append(
        table(rows, ["method", "route", "reqs", "fails", "5xx", "429", "req/s", "p50", "p95", "p99", "max"])
    )
    t = results["totals"]
    out.append("")
    out.append(
        f"total: {t['requests']} requests, {t['throughput_rps']} req/s, error rate {t['error_rate_pct']} % "
        f"({t['failures']} failures: {t['status_5xx']} 5xx, {t['status_429']} 429, "
        f"{t['no_response']} without response, {t['other_failures']} other); latencies in ms"
    )
    u = results["uploads"]
    out.append(
        f"uploads: {u['accepted']} documents accepted (202) {u['by_format']}; good files: {u['good_ready']}/"
        f"{u['good']} ready = success ratio {u['success_ratio']}, {u['good_failed']} failed, "
        f"{u['good_pending']} still pending after {results['drain_s']} s of drain; broken files: "
        f"{u['bad_failed_as_expected']}/{u['bad']} failed as expected"
    )
    out.append(f"  upload to ready (server timestamps), seconds: {u['ready_after_s']}")
    if u["failure_reasons"]:
        out.append(f"  failure reasons: {u['failure_reasons']}")
    if results["load"].get("rejected_at_upload"):
        out.append(f"  rejected at upload: {len(results['load']['rejected_at_upload'])}")
    out.append("")
    procs = results["processes"]
    prow = [
        [p["label"], str(p["pid"]), _fmt(p["rss_mb_first"], 1), _fmt(p["rss_mb_load_start"], 1),
         _fmt(p["rss_mb_load_end"], 1), _fmt(p["rss_mb_peak"], 1), _fmt(p["cpu_pct_load"], 1)]
        for p in procs["processes"]
    ]  # fmt: skip
    out.append(
        table(prow, ["process", "pid", "RSS MB first", "load start", "load end", "peak", "CPU % (load)"])
    )
    trow = [
        [name, str(v["processes_seen"]), _fmt(v["rss_mb_sum_load_start"], 1),
         _fmt(v["rss_mb_sum_load_end"], 1), _fmt(v["rss_mb_sum_peak"], 1), _fmt(v["cpu_pct_load"], 1),
         _fmt(v["cpu_s_load"], 1)]
        for name, v in procs["trees"].items()
    ]  # fmt: skip
    out.append("")
    out.append("process trees (with short-lived children; RSS summed over the tree's processes):")
    out.append(table(trow, ["tree", "procs", "RSS MB load start", "load end", "peak", "CPU %", "CPU s"]))
    errors = results["server_log"]
    if errors["http_5xx_logged"] or errors["errors"]:
        out.append("")
        out.append(f"server log: 5xx {errors['http_5xx_logged']}")
        for g in errors["errors"][:12]:
            where = f"at {g['where']} (innermost {g['innermost']})"
            out.append(f"  {g['count']:>5} x {g['event']}: {g['error']}  {where}")
    out.append("")
    out.append(f"results: {results['out']}/results.json")
    return "\n".join(out)


# ---- main ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S") + f"_{secrets.token_hex(2)}"
    out = (Path(args.out) if args.out else ROOT / "bench" / "out" / f"load-{args.shape}-{stamp}").resolve()
    if out.exists() and any(out.iterdir()):
        # A second run in the same folder would start on the first one's installation (its owner,
        # with another password) and fail to seed: every run gets a fresh folder.
        raise SystemExit(f"{out} already holds a run; choose another --out (or delete it)")
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    info = machine()
    procs = Processes(logs)
    sampler: Sampler | None = None
    interrupted = {"flag": False}

    def on_term(signum: int, _frame: Any) -> None:
        interrupted["flag"] = True
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        print(f"starting the {args.shape} target (output in {out})", file=sys.stderr, flush=True)
        pg_pids = None
        if args.shape == "embedded":
            base, env, target = start_embedded(args, out, procs)
        else:
            base, env, target, pg_pids = start_production(args, out, procs, stamp)
        sampler = Sampler(procs, args.sample_interval, pg_pids)
        sampler.start()
        sampler.mark("seed")
        password = secrets.token_urlsafe(24)
        owner_via = create_owner(base, env, logs, out, password)
        seed_argv = [
            "--base-url", base, "--owner-email", OWNER_EMAIL, f"--owner-password={password}",
            "--out", str(out), "--people", str(args.people), "--matters", str(args.matters),
            "--docs-per-matter", str(args.docs_per_matter), "--cookie-share", str(args.cookie_share),
            "--people-per-address", str(args.people_per_address), "--templates", str(args.templates),
            "--wait-timeout", str(args.seed_timeout),
        ]  # fmt: skip
        print(f"seeding {args.people} people, {args.matters} matters ...", file=sys.stderr, flush=True)
        try:
            seeding.seed(seeding.parse_args(seed_argv))
        except seeding.SeedError as exc:
            raise RunError(f"seeding failed: {exc}") from exc
        seed = json.loads((out / "seed.json").read_text())
        procs.check_alive()

        report_path = out / "load_report.json"
        locust_cmd = [
            *tool("locust"), "-f", str(HERE / "locustfile.py"), "--headless", "-u", str(args.users),
            "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--host", base,
            "--csv", str(out / "locust"), "--only-summary", "--stop-timeout", "10",
            "--credentials", str(out / "credentials.json"), "--think", str(args.think),
            "--report", str(report_path), "--bad-share", str(args.bad_share),
        ]  # fmt: skip
        if args.mix:
            locust_cmd += ["--mix", args.mix]
        print(f"locust: {args.users} users for {args.duration} s ...", file=sys.stderr, flush=True)
        locust = procs.start("locust", locust_cmd, clean_env(), cwd=out)
        sampler.mark("load")
        deadline = time.monotonic() + args.duration + 120
        while locust.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if locust.poll() is None:
            procs.stop("locust")
            raise RunError("locust did not stop by itself")
        locust_rc = locust.returncode
        sampler.mark("drain")
        if not report_path.exists():
            raise RunError(
                f"locust wrote no report (exit {locust_rc}): {(logs / 'locust.log').read_text()[-3000:]}"
            )
        load = json.loads(report_path.read_text())
        creds = json.loads((out / "credentials.json").read_text())
        drain_s = drain(base, creds["people"], load["uploads"], args.drain_timeout)
        sampler.mark("end")
    finally:
        if sampler is not None:
            sampler.stop()
        print("stopping everything this run started ...", file=sys.stderr, flush=True)
        procs.stop_all()
    routes = read_stats(out / "locust_stats.csv")
    per_route = [r for r in routes if r["route"] != "Aggregated"]
    agg = next((r for r in routes if r["route"] == "Aggregated"), None)
    statuses = load["statuses"]
    n5 = sum(v for c in statuses.values() for k, v in c.items() if int(k) >= 500)
    n429 = sum(c.get("429", 0) for c in statuses.values())
    n0 = sum(c.get("0", 0) for c in statuses.values())
    total = agg["requests"] if agg else sum(r["requests"] for r in per_route)
    failures = agg["failures"] if agg else sum(r["failures"] for r in per_route)
    results = {
        "out": str(out),
        "config": {
            "shape": args.shape,
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "duration_s": args.duration,
            "think_s": args.think,
            "people": args.people,
            "matters": args.matters,
            "docs_per_matter": args.docs_per_matter,
            "api_processes": target.get("api_processes"),
            "workers": target.get("worker_processes"),
            "mix": load.get("mix"),
            "bad_share": args.bad_share,
        },
        "target": {**target, "owner_created_by": owner_via},
        "machine": info,
        "seed": seed,
        "locust_exit_code": locust_rc,
        "routes": per_route,
        "totals": {
            "requests": total,
            "failures": failures,
            "throughput_rps": round(agg["rps"], 2) if agg and agg["rps"] is not None else None,
            "error_rate_pct": round(100 * failures / total, 2) if total else None,
            "status_5xx": n5,
            "status_429": n429,
            "no_response": n0,
            "other_failures": max(0, failures - n5 - n429 - n0),
            "p50_ms": agg["p50_ms"] if agg else None,
            "p95_ms": agg["p95_ms"] if agg else None,
            "p99_ms": agg["p99_ms"] if agg else None,
        },
        "uploads": summarize_uploads(load["uploads"]),
        "drain_s": drain_s,
        "load": {k: load[k] for k in ("statuses", "server_errors", "rejected_at_upload", "people_used")},
        "processes": sampler.summary() if sampler else {},
        "server_log": server_log_errors(
            logs, {e["request_id"] for e in load["server_errors"] if e["request_id"]}
        ),
        "interrupted": interrupted["flag"],
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "samples.json").write_text(json.dumps(sampler.samples if sampler else []))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=("embedded", "production"), default="embedded")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--spawn-rate", type=float, default=5.0)
    p.add_argument("--duration", type=int, default=300, help="seconds of load")
    p.add_argument("--think", type=float, default=1.0, help="mean think time between actions, seconds")
    p.add_argument("--mix", default="", help="action weights, e.g. upload=3,ask=0 (see locustfile.py)")
    p.add_argument("--bad-share", type=float, default=0.03, help="share of uploads that are broken files")
    p.add_argument("--people", type=int, default=220)
    p.add_argument("--matters", type=int, default=40)
    p.add_argument("--docs-per-matter", type=int, default=4)
    p.add_argument("--cookie-share", type=float, default=0.4)
    p.add_argument("--people-per-address", type=int, default=0)
    p.add_argument("--templates", type=int, default=12)
    p.add_argument("--api-processes", type=int, default=2, help="production: API processes")
    p.add_argument("--workers", type=int, default=2, help="production: `legalai worker` processes")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEGALAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="production: an admin URL of the PostgreSQL server (a database is created and dropped)",
    )
    p.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    p.add_argument("--start-timeout", type=float, default=120.0)
    p.add_argument("--seed-timeout", type=float, default=900.0)
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--sample-interval", type=float, default=2.0)
    p.add_argument("--out", default="", help="default: bench/out/load-<shape>-<timestamp>")
    p.add_argument("--json", action="store_true", help="print results.json instead of the table")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.users > args.people:
        print(f"--users {args.users} > --people {args.people}: every user is one person", file=sys.stderr)
        return 2
    try:
        results = run(args)
    except (RunError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"load run failed: {exc} {detail.decode(errors='replace')[-2000:]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    print(json.dumps(results, indent=1) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
