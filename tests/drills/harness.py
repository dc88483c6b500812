"""Fault drills under load: a real deployment started by the test, faults injected one at a time.

The deployment: a PostgreSQL cluster (``initdb`` + ``pg_ctl``), a ``redis-server``, a moto S3
server, a scripted OpenAI-compatible AI provider, ``legalai serve`` with ``LEGALAI_API_PROCESSES``
API processes, and ``legalai worker`` processes: all on free loopback ports, all owned by the test
(nothing shared on the machine is touched).

Faults:

- ``worker``: SIGKILL the worker process that holds a document's lease, mid-processing;
- ``redis``: stop ``redis-server`` (no persistence: every queued message is lost), start it again
  on the same port after the outage;
- ``postgres``: ``pg_ctl stop -m fast``, then ``pg_ctl start``;
- ``s3``: SIGSTOP the moto server (moto keeps its objects in memory only, so a stopped and
  restarted moto would come back empty: a frozen one is kept instead, which is also the nastier
  fault, since connections are accepted by the kernel and requests hang until the client's own
  timeouts), then SIGCONT;
- ``ai``: the AI provider answers 500 (and then hangs) instead of answering.

Light load runs meanwhile: client threads, each with its own API key, list, search, read
documents and pages, download originals, ask questions and upload small real documents. Every
request is timed; ``/ready`` and ``/health`` are polled. A drill's report says how many requests
got which status class, the slowest answer, what became of every upload acknowledged with 202,
whether any version was indexed twice, and how long after the dependency came back everything
answered 2xx again.

Used by tests/drills (short outages, in ``make test``) and bench/drills.py (full-length ones).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.docs import make_docx, make_pdf
from tests.fixtures.fake_llm import FakeLLM, Hang, Reply, Status, Step

PG_BIN = Path("/usr/lib/postgresql/15/bin")
LATENCY_BOUND_SECONDS = 10.0
RECOVERY_BOUND_SECONDS = 30.0
SECRET_KEY = "drill-secret-key-0123456789-abcdefghij"


def pg_bin(name: str) -> str | None:
    candidate = PG_BIN / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def missing_binaries() -> list[str]:
    """The server binaries a drill needs that this machine lacks (empty: drills can run)."""
    missing = [name for name in ("initdb", "pg_ctl") if pg_bin(name) is None]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not yet
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f} s")


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGCONT)  # a frozen process cannot act on SIGTERM
    except ProcessLookupError:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# ---- the dependencies ------------------------------------------------------------------------------


class Postgres:
    """A private cluster: initdb into a fresh directory, pg_ctl start/stop on a free port.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user (the
    Debian package's) and every command runs through ``runuser``.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="legalai-drill-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            self.root.chmod(0o755)
        self.sock.mkdir()
        if self._as:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")

    def url(self, database: str = "legalai") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [*self._as, *args], capture_output=True, timeout=timeout, cwd=self.root, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}\n{log}"
            )

    def init(self) -> None:
        initdb = pg_bin("initdb")
        assert initdb is not None
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE legalai"))
        admin.dispose()

    def start(self) -> None:
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        options = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90", "-o", options, "start")

    def stop(self) -> None:
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        self._run(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "90", "stop")

    def destroy(self) -> None:
        with suppress(Exception):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """``redis-server`` without persistence: a restart loses every key, queued messages included."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="legalai-drill-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *("--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            wait_until(lambda: bool(client.ping()), 30, "redis-server answering")
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """moto's S3 server in a process of its own that can be frozen (SIGSTOP) and thawed (SIGCONT)."""

    bucket = "drills"

    def __init__(self) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the server's life
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                with urllib.request.urlopen(self.url, timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers, 60, "moto S3 server answering")
        from legalai.storage.s3 import S3BlobStore

        S3BlobStore(
            self.bucket, endpoint_url=self.url, access_key_id="drill", secret_access_key="drill"
        ).ensure_bucket()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def destroy(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
        self.log.close()


ANSWER = {
    "answerable": True,
    "statements": [
        {
            "text": "The lessee maintains insurance.",
            "citations": [{"passage": "P1", "quote": "The lessee shall maintain insurance"}],
        }
    ],
}


class ScriptedProvider(FakeLLM):
    """The fake OpenAI server with a switch: ``healthy`` answers, ``failing`` answers 500, ``hanging``
    answers nothing for ``hang_seconds`` (longer than the client's timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "healthy"
        self.hang_seconds = 30.0

    def _next_step(self) -> Step:
        with self._lock:
            if self._steps:
                return self._steps.popleft()
        if self.mode == "failing":
            return Status(500, message="provider outage (drill)")
        if self.mode == "hanging":
            return Hang(self.hang_seconds)
        return Reply(ANSWER)


# ---- the deployment --------------------------------------------------------------------------------


@dataclass
class DrillConfig:
    api_processes: int = 2
    workers: int = 2
    load_threads: int = 3
    pause_seconds: float = 0.25  # between two requests of one client thread
    outage_seconds: float = 6.0
    before_seconds: float = 3.0  # load before the fault
    after_seconds: float = 4.0  # load after recovery, to see it hold
    drain_timeout: float = 90.0
    # Server settings (environment variables without the LEGALAI_ prefix) on top of the defaults.
    settings: dict[str, str] = field(default_factory=dict)


def drill_settings() -> dict[str, str]:
    """Short, bounded waits everywhere, retries that outlast a drill's outage only thanks to the
    sweeper, and leases short enough to take over a killed worker's document within the drill."""
    return {
        "ENVIRONMENT": "test",
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_SIZE": "4",
        "DATABASE_MAX_OVERFLOW": "4",
        "DATABASE_POOL_TIMEOUT_SECONDS": "3",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        "MAX_CONCURRENT_REQUESTS": "8",
        "REQUEST_QUEUE_SECONDS": "2",
        "WORKER_MODE": "external",
        "WORKER_THREADS": "1",
        "EXTRACTION_TIMEOUT_SECONDS": "10",
        "JOB_LEASE_SECONDS": "12",
        "JOB_MAX_RETRIES": "5",
        "JOB_MIN_BACKOFF_MS": "200",
        "JOB_MAX_BACKOFF_MS": "2000",
        "SWEEP_INTERVAL_SECONDS": "1",
        "REDIS_HEARTBEAT_TIMEOUT_MS": "3000",
        "REDIS_MAINTENANCE_CHANCE": "100000",
        "RETRIEVAL_EMBED_IN_PIPELINE": "false",
        "RATE_LIMIT_UPLOAD": "600/minute",
        "RATE_LIMIT_AI": "600/minute",
        "S3_CONNECT_TIMEOUT_SECONDS": "2",
        "S3_READ_TIMEOUT_SECONDS": "2",
        "S3_MAX_ATTEMPTS": "2",
        "S3_SERVER_SIDE_ENCRYPTION": "none",
        "AI_TIMEOUT_SECONDS": "2",
        "AI_MAX_ATTEMPTS": "2",
        "AI_BACKOFF_BASE_SECONDS": "0.1",
        "AI_BACKOFF_MAX_SECONDS": "0.5",
        "AI_BREAKER_FAILURES": "3",
        "AI_BREAKER_COOLDOWN_SECONDS": "5",
        "AI_CACHE_TTL_SECONDS": "0",
    }


@dataclass
class Sample:
    op: str
    started: float
    seconds: float
    status: int  # 0: no answer (timeout, connection error)
    retry_after: str | None = None
    dependency: str | None = None
    detail: str = ""


@dataclass
class Probe:
    at: float
    ready: int
    ready_seconds: float
    health: int
    failing: list[str]


class Deployment:
    """Everything a drill runs against; ``with Deployment.started(root, config) as dep:``."""

    def __init__(self, root: Path, config: DrillConfig) -> None:
        self.root = root
        self.config = config
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg = Postgres()
        self.redis = Redis()
        self.s3 = S3Server()
        self.ai = ScriptedProvider()
        self.port = free_port()
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.keys: list[str] = []
        self.user_ids: list[str] = []
        self.admin_key = ""
        self.matter = ""
        self.seed_docs: list[str] = []
        self._engine: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEGALAI_")}
        values = {
            **drill_settings(),
            "DATA_DIR": str(self.root / "data"),
            "DATABASE_URL": self.pg.url(),
            "REDIS_URL": self.redis.url,
            "REDIS_NAMESPACE": "drill",
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": self.s3.bucket,
            "S3_ENDPOINT_URL": self.s3.url,
            "S3_ACCESS_KEY_ID": "drill",
            "S3_SECRET_ACCESS_KEY": "drill",
            "SECRET_KEY": SECRET_KEY,
            "API_PROCESSES": str(self.config.api_processes),
            "AI_PROVIDERS": json.dumps(
                [
                    {
                        "name": "cloud",
                        "kind": "openai",
                        "model": "gpt-drill",
                        "base_url": self.ai.openai_url,
                        "api_key": "sk-drill-0123456789",
                    },
                    {"name": "offline", "kind": "offline", "model": "offline"},
                ]
            ),
            **self.config.settings,
        }
        env.update({f"LEGALAI_{k}": v for k, v in values.items()})
        return env

    @classmethod
    @contextmanager
    def started(cls, root: Path, config: DrillConfig) -> Iterator[Deployment]:
        dep = cls(root, config)
        with ExitStack() as stack:
            stack.callback(dep.pg.destroy)
            dep.pg.init()
            stack.callback(dep.redis.destroy)
            dep.redis.start()
            stack.callback(dep.s3.destroy)
            dep.s3.start()
            dep.ai.start()
            stack.callback(dep.ai.stop)
            stack.callback(dep.stop_processes)
            dep._migrate_and_seed_identities()
            dep.start_api()
            for _ in range(config.workers):
                dep.start_worker()
            dep._seed_matter()
            yield dep

    # ---- processes ---------------------------------------------------------------------------------

    def _cli(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "legalai.cli", *args],
            env=self.env(),
            stdout=(self.logs / log).open("ab"),
            stderr=subprocess.STDOUT,
        )

    def _migrate_and_seed_identities(self) -> None:
        proc = self._cli("db", "upgrade", log="migrate.log")
        assert proc.wait(300) == 0, (self.logs / "migrate.log").read_text()[-3000:]
        from legalai.accounts import service
        from legalai.accounts.models import Role
        from legalai.kit.db import make_engine, make_sessionmaker, transaction

        engine = make_engine(self.pg.url(), pool_size=2)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            org = service.create_organization(session, "Drill Firm")
            for n in range(self.config.load_threads + 1):
                user = service.create_user(session, f"user{n}@drill.example", "correct horse battery staple")
                service.add_to_organization(session, org.id, user.id, Role.owner)
                principal = service.principal_for(session, user, org.id)
                _key, secret = service.create_api_key(
                    session, principal, "drill", frozenset({"read", "write", "admin"})
                )
                self.keys.append(secret)
                self.user_ids.append(user.id)
        self.admin_key = self.keys.pop(0)
        self.user_ids.pop(0)
        engine.dispose()

    def start_api(self) -> None:
        self.api = self._cli("serve", "--port", str(self.port), log="api.log")
        wait_until(
            lambda: httpx.get(f"{self.base_url}/ready", timeout=5).status_code == 200,
            240,
            "legalai serve ready",
            interval=0.5,
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = self._cli("worker", "--threads", "1", log=f"worker-{len(self.workers)}.log")
        self.workers.append(proc)
        return proc

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def stop_processes(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            _stop_process(proc, timeout=40)
        if self._engine is not None:
            self._engine.dispose()

    def log_tail(self, chars: int = 6000) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    # ---- data ----------------------------------------------------------------------------------------

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key or self.admin_key}"},
            timeout=httpx.Timeout(30.0),
        )

    def _seed_matter(self) -> None:
        with self.client() as client:
            response = client.post("/api/v1/matters", json={"name": "Drills"})
            assert response.status_code == 201, response.text
            self.matter = response.json()["id"]
            for user_id in self.user_ids:
                response = client.post(f"/api/v1/matters/{self.matter}/members", json={"user_id": user_id})
                assert response.status_code == 200, response.text
            response = client.put(
                f"/api/v1/matters/{self.matter}/ai-policy",
                json={"mode": "allowed", "allowed_providers": ["cloud"]},
            )
            assert response.status_code == 200, response.text
            files = [("files", (name, data, "application/octet-stream")) for name, data in seed_documents()]
            response = client.post(f"/api/v1/matters/{self.matter}/documents", files=files)
            assert response.status_code == 202, response.text
            self.seed_docs = [a["document_id"] for a in response.json()["accepted"]]
        versions = [self.version_of(d) for d in self.seed_docs]
        wait_until(
            lambda: all(self.version_states([v for v in versions if v])[v][0] == "ready" for v in versions),
            180,
            "seed documents ready",
            interval=0.5,
        )

    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(self.pg.url(), pool_pre_ping=True, pool_size=2)
        return self._engine

    def version_of(self, document_id: str) -> str | None:
        from sqlalchemy import select

        from legalai.documents.models import Document

        with self.engine().connect() as conn:
            found: str | None = conn.scalar(
                select(Document.current_version_id).where(Document.id == document_id)
            )
            return found

    def version_states(self, version_ids: list[str]) -> dict[str, tuple[str, str | None, int, int]]:
        """version id -> (status, failure reason, successful index events, claims)."""
        from sqlalchemy import func, select

        from legalai.documents.models import DocumentVersion, ProcessingEvent

        if not version_ids:
            return {}
        with self.engine().connect() as conn:
            rows = conn.execute(
                select(DocumentVersion.id, DocumentVersion.status, DocumentVersion.failure_reason).where(
                    DocumentVersion.id.in_(version_ids)
                )
            ).all()
            events = conn.execute(
                select(ProcessingEvent.version_id, ProcessingEvent.stage, func.count())
                .where(
                    ProcessingEvent.version_id.in_(version_ids),
                    ProcessingEvent.outcome == "ok",
                    ProcessingEvent.stage.in_(["index", "claim"]),
                )
                .group_by(ProcessingEvent.version_id, ProcessingEvent.stage)
            ).all()
        counts = {(v, stage): n for v, stage, n in events}
        return {
            v: (status, reason, counts.get((v, "index"), 0), counts.get((v, "claim"), 0))
            for v, status, reason in rows
        }

    def lease_owner(self, version_id: str) -> str | None:
        from sqlalchemy import select

        from legalai.documents.models import DocumentVersion

        with self.engine().connect() as conn:
            owner: str | None = conn.scalar(
                select(DocumentVersion.lease_owner).where(
                    DocumentVersion.id == version_id, DocumentVersion.status == "processing"
                )
            )
            return owner


def seed_documents() -> list[tuple[str, bytes]]:
    return [
        ("lease.txt", b"Lease agreement. The lessee shall maintain insurance against fire and flood."),
        ("supply.pdf", make_pdf(["Supply agreement.", "The supplier shall deliver the goods monthly."])),
        ("nda.docx", make_docx(["Non-disclosure agreement.", "Governed by the laws of Delaware."])),
    ]


def small_document(n: int) -> tuple[str, bytes]:
    """A small real document with unique content (uploads are deduplicated by content)."""
    tag = uuid.uuid4().hex
    text = f"Drill note {tag}. The lessee shall maintain insurance number {n}."
    kind = n % 3
    if kind == 0:
        return f"note-{tag[:8]}.txt", text.encode()
    if kind == 1:
        return f"memo-{tag[:8]}.pdf", make_pdf([text, "Second page: the supplier shall deliver."])
    return f"letter-{tag[:8]}.docx", make_docx([text, "Governed by the laws of Delaware."])


# ---- load --------------------------------------------------------------------------------------------


OPS: list[tuple[str, float]] = [
    ("list", 3),
    ("search", 3),
    ("document", 2),
    ("page", 2),
    ("original", 1),
    ("ask", 1),
    ("upload", 2),
]


class Load:
    """Client threads, each with its own key, doing a mix of requests until stopped; a probe thread
    polling /ready and /health. Bounded: it stops by itself after ``max_seconds``."""

    def __init__(
        self, dep: Deployment, max_seconds: float = 600.0, ops: list[tuple[str, float]] = OPS
    ) -> None:
        self.dep = dep
        self.max_seconds = max_seconds
        self.ops = ops
        self.samples: list[Sample] = []
        self.probes: list[Probe] = []
        self.uploads: list[tuple[float, str]] = []  # (acknowledged at, version id)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._counter = 0

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for n, key in enumerate(self.dep.keys[: self.dep.config.load_threads]):
            t = threading.Thread(target=self._client, args=(key, n), daemon=True, name=f"load-{n}")
            t.start()
            self._threads.append(t)
        probe = threading.Thread(target=self._probe, daemon=True, name="probe")
        probe.start()
        self._threads.append(probe)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() - self.started < self.max_seconds

    def _client(self, key: str, n: int) -> None:
        rng = random.Random(n)
        names = [name for name, _ in self.ops]
        weights = [w for _, w in self.ops]
        with self.dep.client(key) as client:
            while self._running():
                op = rng.choices(names, weights)[0]
                self._request(client, op, rng)
                self._stop.wait(self.dep.config.pause_seconds)

    def _request(self, client: httpx.Client, op: str, rng: random.Random) -> None:
        dep = self.dep
        doc = rng.choice(dep.seed_docs)
        started = time.monotonic()
        try:
            if op == "list":
                response = client.get(f"/api/v1/matters/{dep.matter}/documents")
            elif op == "search":
                response = client.get(f"/api/v1/matters/{dep.matter}/search", params={"q": "insurance"})
            elif op == "document":
                response = client.get(f"/api/v1/documents/{doc}")
            elif op == "page":
                response = client.get(f"/api/v1/documents/{doc}/pages/1")
            elif op == "original":
                response = client.get(f"/api/v1/documents/{doc}/original")
            elif op == "ask":
                mode = rng.choice(["auto", "generative"])
                response = client.post(
                    f"/api/v1/matters/{dep.matter}/ask",
                    json={"question": "Who must maintain insurance?", "mode": mode},
                )
                op = f"ask-{mode}"
            else:
                with self._lock:
                    self._counter += 1
                    count = self._counter
                name, data = small_document(count)
                response = client.post(
                    f"/api/v1/matters/{dep.matter}/documents",
                    files=[("files", (name, data, "application/octet-stream"))],
                )
        except httpx.HTTPError as exc:
            self._record(Sample(op, started, time.monotonic() - started, 0, detail=repr(exc)[:200]))
            return
        seconds = time.monotonic() - started
        sample = Sample(op, started, seconds, response.status_code, response.headers.get("retry-after"))
        if response.status_code >= 400:
            try:
                body = response.json()
                sample.dependency = body.get("dependency")
                sample.detail = str(body.get("detail", ""))[:200]
            except ValueError:
                sample.detail = response.text[:200]
        elif op == "upload":
            for item in response.json()["accepted"]:
                with self._lock:
                    self.uploads.append((time.monotonic(), item["version_id"]))
        self._record(sample)

    def _record(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def _probe(self) -> None:
        with httpx.Client(base_url=self.dep.base_url, timeout=httpx.Timeout(30.0)) as client:
            while self._running():
                at = time.monotonic()
                failing: list[str] = []
                try:
                    ready = client.get("/ready")
                    ready_status = ready.status_code
                    checks = ready.json().get("checks", {})
                    failing = sorted(k for k, v in checks.items() if v.get("status") != "ok")
                except (httpx.HTTPError, ValueError):
                    ready_status = 0
                ready_seconds = time.monotonic() - at
                try:
                    health = client.get("/health").status_code
                except httpx.HTTPError:
                    health = 0
                with self._lock:
                    self.probes.append(Probe(at, ready_status, ready_seconds, health, failing))
                self._stop.wait(0.5)

    def snapshot(self) -> tuple[list[Sample], list[Probe], list[tuple[float, str]]]:
        with self._lock:
            return list(self.samples), list(self.probes), list(self.uploads)


# ---- drills --------------------------------------------------------------------------------------------


@dataclass
class DrillReport:
    name: str
    dependency: str
    outage_seconds: float
    requests: int = 0
    by_status_class: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    max_latency_seconds: float = 0.0
    max_ready_latency_seconds: float = 0.0
    over_latency_bound: int = 0
    server_errors: int = 0  # 5xx other than 503, and requests that got no answer
    unavailable_without_retry_after: int = 0
    during_outage: dict[str, int] = field(default_factory=dict)
    ready_during_outage: dict[str, int] = field(default_factory=dict)
    ready_named_dependency: bool = False
    health_failures: int = 0
    uploads_acknowledged: int = 0
    uploads_acknowledged_during_outage: int = 0
    uploads_ready: int = 0
    uploads_failed: int = 0
    uploads_lost: int = 0
    failure_reasons: list[str] = field(default_factory=list)
    duplicates: int = 0
    seconds_to_recovery: float | None = None
    seconds_to_drain: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        classes = " ".join(f"{k}:{v}" for k, v in sorted(self.by_status_class.items()))
        return (
            f"{self.name:<9} outage {self.outage_seconds:>4.0f}s  requests {self.requests:>4} ({classes})  "
            f"max {self.max_latency_seconds:5.2f}s  uploads acked {self.uploads_acknowledged} "
            f"ready {self.uploads_ready} failed {self.uploads_failed} lost {self.uploads_lost}  "
            f"duplicates {self.duplicates}  recovery {_fmt(self.seconds_to_recovery)}s  "
            f"drain {_fmt(self.seconds_to_drain)}s"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


READY_NAME = {"postgres": "database", "redis": "broker", "s3": "storage"}


def run_drill(
    dep: Deployment,
    name: str,
    inject: Callable[[], None],
    restore: Callable[[], None],
    *,
    outage_seconds: float | None = None,
    ops: list[tuple[str, float]] = OPS,
) -> DrillReport:
    """Load; fault; ``outage_seconds``; restore; wait for recovery; drain; count."""
    config = dep.config
    outage = config.outage_seconds if outage_seconds is None else outage_seconds
    report = DrillReport(name=name, dependency=READY_NAME.get(name, name), outage_seconds=outage)
    with Load(dep, ops=ops) as load:
        time.sleep(config.before_seconds)
        t_fault = time.monotonic()
        inject()
        time.sleep(outage)
        t_restore = time.monotonic()
        restore()
        recovered_at = _wait_recovered(load, t_restore, RECOVERY_BOUND_SECONDS + 30)
        time.sleep(config.after_seconds)
    samples, probes, uploads = load.snapshot()
    _summarize(report, samples, probes, t_fault, t_restore)
    if recovered_at is not None:
        report.seconds_to_recovery = round(max(0.0, recovered_at - t_restore), 2)
    _drain(dep, report, uploads, t_fault, t_restore)
    return report


def _wait_recovered(load: Load, t_restore: float, timeout: float) -> float | None:
    """When every request started since then answered 2xx (and keeps doing so for 2 s) and /ready
    is 200 again: the first such moment after the restore."""
    deadline = t_restore + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        samples, probes, _ = load.snapshot()
        candidate = _recovery_point(samples, probes, t_restore)
        if candidate is not None and time.monotonic() - candidate >= 2.0:
            later = [s for s in samples if s.started >= candidate]
            if len(later) >= 3:
                return candidate
    return None


def _recovery_point(samples: list[Sample], probes: list[Probe], t_restore: float) -> float | None:
    after = [p for p in probes if p.at >= t_restore]
    bad_probes = [p for p in after if p.ready != 200]
    good_probes = [p for p in after if p.ready == 200 and (not bad_probes or p.at > bad_probes[-1].at)]
    if not good_probes:
        return None
    point = good_probes[0].at
    failed = [s for s in samples if s.started + s.seconds >= t_restore and not 200 <= s.status < 300]
    if failed:
        point = max(point, max(s.started + s.seconds for s in failed))
    return point


def _summarize(
    report: DrillReport, samples: list[Sample], probes: list[Probe], t_fault: float, t_restore: float
) -> None:
    report.requests = len(samples)
    for s in samples:
        cls = "none" if s.status == 0 else f"{s.status // 100}xx"
        report.by_status_class[cls] = report.by_status_class.get(cls, 0) + 1
        report.by_status[str(s.status)] = report.by_status.get(str(s.status), 0) + 1
        if s.started + s.seconds >= t_fault and s.started <= t_restore:
            key = f"{s.op}:{s.status}"
            report.during_outage[key] = report.during_outage.get(key, 0) + 1
        if s.status == 0 or (s.status >= 500 and s.status != 503):
            report.server_errors += 1
            if len(report.notes) < 10:
                report.notes.append(f"{s.op} -> {s.status}: {s.detail}")
        if s.status == 503 and not s.retry_after:
            report.unavailable_without_retry_after += 1
        if s.seconds > LATENCY_BOUND_SECONDS:
            report.over_latency_bound += 1
    report.max_latency_seconds = round(max((s.seconds for s in samples), default=0.0), 3)
    report.max_ready_latency_seconds = round(max((p.ready_seconds for p in probes), default=0.0), 3)
    report.health_failures = sum(1 for p in probes if p.health != 200)
    # Probes well inside the outage: started after it took hold, answered before the restore.
    inside = [p for p in probes if t_fault + 1.5 <= p.at and p.at + p.ready_seconds <= t_restore - 0.1]
    for p in inside:
        key = f"{p.ready}:{','.join(p.failing) or '-'}"
        report.ready_during_outage[key] = report.ready_during_outage.get(key, 0) + 1
    report.ready_named_dependency = bool(inside) and all(
        p.ready == 503 and report.dependency in p.failing for p in inside
    )


def _drain(
    dep: Deployment, report: DrillReport, uploads: list[tuple[float, str]], t_fault: float, t_restore: float
) -> None:
    versions = [v for _, v in uploads]
    report.uploads_acknowledged = len(versions)
    report.uploads_acknowledged_during_outage = sum(1 for at, _ in uploads if t_fault <= at <= t_restore)
    deadline = time.monotonic() + dep.config.drain_timeout
    states = dep.version_states(versions)
    while time.monotonic() < deadline:
        states = dep.version_states(versions)
        if len(states) == len(versions) and all(s[0] in ("ready", "failed") for s in states.values()):
            report.seconds_to_drain = round(time.monotonic() - t_restore, 2)
            break
        time.sleep(0.5)
    for v in versions:
        status, reason, indexed, _claims = states.get(v, ("missing", None, 0, 0))
        if status == "ready":
            report.uploads_ready += 1
        elif status == "failed":
            report.uploads_failed += 1
            report.failure_reasons.append(str(reason)[:200])
        else:
            report.uploads_lost += 1
        if indexed > 1:
            report.duplicates += 1


# ---- the five faults -------------------------------------------------------------------------------------


def drill_worker_kill(dep: Deployment) -> DrillReport:
    """SIGKILL the worker processing a document; the other worker takes it over once its lease
    expires. A replacement worker is started afterwards, as a supervisor would."""
    killed: dict[str, Any] = {}

    def inject() -> None:
        pages = [f"Page {n}. The lessee shall maintain insurance number {n}." for n in range(400)]
        with dep.client() as client:
            response = client.post(
                f"/api/v1/matters/{dep.matter}/documents",
                files=[("files", (f"long-{uuid.uuid4().hex[:8]}.pdf", make_pdf(pages), "application/pdf"))],
            )
        assert response.status_code == 202, response.text
        version = response.json()["accepted"][0]["version_id"]
        killed["version"] = version
        pids = {w.pid: w for w in dep.live_workers()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            owner = dep.lease_owner(version)
            if owner:
                pid = int(owner.split(":")[1])
                if pid in pids:
                    pids[pid].send_signal(signal.SIGKILL)
                    pids[pid].wait(10)
                    killed["pid"] = pid
                    return
            time.sleep(0.05)
        raise AssertionError("no worker claimed the long document within 60 s")

    def restore() -> None:
        pass  # nothing comes back: the surviving worker carries on alone

    report = run_drill(dep, "worker", inject, restore, outage_seconds=0.5)
    version = killed.get("version")
    report.notes.append(f"killed worker pid {killed.get('pid')} holding version {version}")
    if version:
        deadline = time.monotonic() + dep.config.drain_timeout
        states = dep.version_states([version])
        while time.monotonic() < deadline and states[version][0] not in ("ready", "failed"):
            time.sleep(0.5)
            states = dep.version_states([version])
        status, reason, indexed, claims = states[version]
        report.notes.append(f"killed document: {status} ({reason}), index events {indexed}, claims {claims}")
        report.uploads_acknowledged += 1
        report.uploads_ready += status == "ready"
        report.uploads_failed += status == "failed"
        report.uploads_lost += status not in ("ready", "failed")
        report.duplicates += indexed > 1
    dep.start_worker()  # the supervisor's restart, so later drills have two workers again
    return report


def drill_redis(dep: Deployment, outage: float | None = None) -> DrillReport:
    return run_drill(dep, "redis", dep.redis.stop, dep.redis.start, outage_seconds=outage)


def drill_postgres(dep: Deployment, outage: float | None = None) -> DrillReport:
    return run_drill(dep, "postgres", dep.pg.stop, dep.pg.start, outage_seconds=outage)


def drill_s3(dep: Deployment, outage: float | None = None) -> DrillReport:
    return run_drill(dep, "s3", dep.s3.freeze, dep.s3.thaw, outage_seconds=outage)


def drill_ai(dep: Deployment, outage: float | None = None) -> DrillReport:
    """The provider answers 500 for the first half of the outage, then hangs (timeouts)."""
    total = dep.config.outage_seconds if outage is None else outage

    def inject() -> None:
        dep.ai.mode = "failing"
        threading.Timer(total / 2, lambda: setattr(dep.ai, "mode", "hanging")).start()

    def restore() -> None:
        dep.ai.mode = "healthy"

    # More questions than the usual mix, so both ask modes meet the outage.
    ops = [(op, 6.0 if op == "ask" else weight) for op, weight in OPS]
    return run_drill(dep, "ai", inject, restore, outage_seconds=total, ops=ops)


def write_reports(reports: list[DrillReport], path: Path, extra: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**(extra or {}), "drills": [r.as_dict() for r in reports]}
    path.write_text(json.dumps(payload, indent=2) + "\n")


def print_reports(reports: list[DrillReport]) -> None:
    for r in reports:
        sys.stdout.write(r.line() + "\n")
    sys.stdout.flush()
