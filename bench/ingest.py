"""Ingestion benchmark: CUAD contracts rendered to PDF and DOCX, ingested upload-to-searchable.

    uv run python bench/ingest.py [--limit N] [--formats pdf,docx] [--threads 2] [--json]

1. Render every contract of ``../shared/data/cuad/contracts`` (plain text) deterministically to PDF
   (fpdf2, Helvetica, Letter, 11 pt) and DOCX (python-docx). Rendered files are cached in
   ``bench/out/render/{pdf,docx}/`` under a hash of the source text and the renderer version, so
   only the first run pays for rendering; render time is reported apart from ingestion.
2. Baseline: bare pypdfium2 text extraction of the same PDFs, single process (pages/s).
3. Pipeline: the real service (Settings -> migrations -> build_runtime -> in-process worker).
   Each file is staged and ingested in its own transaction, like one upload; the clock runs from
   the first upload until every document is ``ready`` or ``failed`` (the database is polled every
   0.1 s), i.e. "upload to searchable". Then, until every follow-up stage (analysis, embedding)
   of those documents has finished: "all analyses done" is timed from the first upload too.
4. Peak memory of the process tree (sampled) and search latency over the ingested PDF matter.

Targets: end-to-end PDF pages/s >= 1/3 of bare pypdfium2 pages/s; peak RSS < 1 GB; search
p95 < 50 ms. PASS/FAIL is printed per target; the exit code is non-zero only for errors (a
document that failed or was rejected, a crash), not for a missed target.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import platform
import random
import re
import resource
import statistics
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "cuad" / "contracts"
OUT = ROOT / "bench" / "out"
RENDER_DIR = OUT / "render"

# Bump when the rendering below changes: cached files are keyed by it.
RENDERER_VERSION = "1"
FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

TARGET_RATIO = 1 / 3
TARGET_PEAK_BYTES = 1024**3
TARGET_P95_MS = 50.0

FORMATS = ("pdf", "docx")
MATTERS = {"pdf": "Bench PDF", "docx": "Bench DOCX"}


# ==== rendering =================================================================================

# Characters outside latin-1 (the core fonts' encoding) mapped to readable equivalents.
_LATIN1_MAP: dict[int, str] = {
    **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u02bc"},
    **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u02ba"},
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
    **{ord(c): "*" for c in "\u2022\u25cf\u25cb\u25aa\u25a0\u25e6\u2023\u2043\u25a1"},
    **{
        ord(c): " "
        for c in "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"
    },
    **{ord(c): "" for c in "\u200b\u200c\u200d\u2060\ufeff\r"},
    **{ord(c): "\n" for c in "\u2028\u2029\f\v"},
    ord("\u2026"): "...",
    ord("\u2122"): "(TM)",
    ord("\u20ac"): "EUR",
    ord("\u2215"): "/",
    ord("\u2502"): "|",
    ord("\uff5e"): "~",
    ord("\uff1a"): ":",
}
# C0/C1 control characters (except newline) carry no text; XML 1.0 forbids most of them anyway.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def latin1_safe(text: str) -> str:
    """Text the PDF core fonts can encode: known symbols to ASCII, anything else to '?'."""
    text = _CONTROL.sub("", text.translate(_LATIN1_MAP))
    return text.encode("latin-1", errors="replace").decode("latin-1")


def xml_safe(text: str) -> str:
    return _XML_UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def render_pdf(text: str, title: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="pt", format="Letter")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(latin1_safe(title))
    pdf.set_margins(72, 72, 72)
    pdf.set_auto_page_break(True, margin=72)
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 13.2, latin1_safe(text), align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render_docx(text: str, title: str) -> bytes:
    from docx import Document

    doc = Document()
    props = doc.core_properties
    naive = FIXED_DATE.replace(tzinfo=None)
    props.created = props.modified = props.last_printed = naive
    props.author = props.last_modified_by = "legalai bench"
    props.title = xml_safe(title)
    props.revision = 1
    for line in xml_safe(text).split("\n"):
        if line.strip():
            doc.add_paragraph(line.strip())
    buffer = io.BytesIO()
    doc.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """python-docx stamps zip entries with the current time; rewrite them with a fixed one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


RENDERERS: dict[str, Callable[[str, str], bytes]] = {"pdf": render_pdf, "docx": render_docx}


def _renderer_id(fmt: str) -> str:
    lib = "fpdf2" if fmt == "pdf" else "python-docx"
    return f"{fmt}:{RENDERER_VERSION}:{lib}=={package_version(lib)}"


@dataclass
class Contract:
    name: str  # the source file's stem
    source: Path
    text: str
    rendered: dict[str, Path] = field(default_factory=dict)

    def cache_path(self, fmt: str) -> Path:
        digest = hashlib.sha256(_renderer_id(fmt).encode() + b"\0" + self.text.encode("utf-8")).hexdigest()
        return RENDER_DIR / fmt / f"{digest[:32]}.{fmt}"


def load_contracts(corpus: Path, limit: int | None) -> list[Contract]:
    sources = sorted(p for p in corpus.glob("*.txt") if p.is_file())
    if limit is not None:
        sources = sources[:limit]
    return [Contract(p.stem, p, p.read_bytes().decode("utf-8", errors="replace")) for p in sources]


def _render_job(fmt: str, text: str, title: str, target: str) -> None:
    data = RENDERERS[fmt](text, title)
    path = Path(target)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


@dataclass
class RenderReport:
    rendered: int = 0
    cached: int = 0
    seconds: float = 0.0
    deterministic: bool = True
    bytes_by_format: dict[str, int] = field(default_factory=dict)


def render_all(contracts: Sequence[Contract], formats: Sequence[str], workers: int) -> RenderReport:
    report = RenderReport()
    todo: list[tuple[str, Contract, Path]] = []
    for fmt in formats:
        (RENDER_DIR / fmt).mkdir(parents=True, exist_ok=True)
        for c in contracts:
            c.rendered[fmt] = path = c.cache_path(fmt)
            if path.exists():
                report.cached += 1
            else:
                todo.append((fmt, c, path))
    started = time.perf_counter()
    if todo:
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(_render_job, fmt, c.text, c.name, str(path)) for fmt, c, path in todo]
            for future in futures:
                future.result()
        report.rendered = len(todo)
    report.seconds = time.perf_counter() - started
    # Determinism check: re-render the first contract and compare with the (possibly cached) file.
    if contracts:
        first = contracts[0]
        for fmt in formats:
            again = RENDERERS[fmt](first.text, first.name)
            report.deterministic &= again == first.rendered[fmt].read_bytes()
    for fmt in formats:
        report.bytes_by_format[fmt] = sum(c.rendered[fmt].stat().st_size for c in contracts)
    return report


# ==== baseline ==================================================================================


@dataclass
class Baseline:
    documents: int
    pages: int
    seconds: float
    sparse_pages: int  # pages with fewer visible characters than the OCR threshold
    cpu: CpuUsage

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def bare_pypdfium2(paths: Sequence[Path], sparse_threshold: int) -> Baseline:
    """Open, per page get_textpage().get_text_range(), close: nothing else."""
    import pypdfium2 as pdfium

    pages = 0
    texts: list[str] = []
    meter = CpuMeter()
    started = time.perf_counter()
    for path in paths:
        pdf = pdfium.PdfDocument(path)
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                texts.append(textpage.get_text_range())
                textpage.close()
                page.close()
                pages += 1
        finally:
            pdf.close()
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    sparse = sum(1 for t in texts if sum(1 for ch in t if not ch.isspace()) < sparse_threshold)
    return Baseline(len(paths), pages, seconds, sparse, cpu)


# ==== memory ====================================================================================


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    children = _proc_children()
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def _vm_rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeRssSampler:
    """Sum of VmRSS over this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.peak_child_bytes = 0  # the largest single descendant (fork server, extraction child)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()

    def sample(self) -> None:
        tree = process_tree(os.getpid())
        sizes = [_vm_rss_bytes(pid) for pid in tree]
        self.samples += 1
        self.peak_bytes = max(self.peak_bytes, sum(sizes))
        self.peak_child_bytes = max(self.peak_child_bytes, *sizes[1:], 0)
        self.peak_processes = max(self.peak_processes, len(tree))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def tree_cpu_seconds() -> tuple[float, float]:
    """(this process, its descendants) CPU seconds, user + system.

    Children of children (the extraction processes, children of the fork server) are counted
    through their parent's cutime/cstime once reaped.
    """
    tick = os.sysconf("SC_CLK_TCK")
    me = os.times()
    own = me.user + me.system
    others = 0.0
    for pid in process_tree(os.getpid())[1:]:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # fields[0] is state; utime, stime, cutime, cstime are stat fields 14-17.
        utime, stime = int(fields[11]), int(fields[12])
        others += utime + stime
        if fields[1] == str(os.getpid()):  # direct children: add what they reaped
            others += int(fields[13]) + int(fields[14])
    return own, others / tick


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / tick, steal / tick


@dataclass
class CpuUsage:
    """CPU seconds used during an interval: by the benchmark process, its descendants, anything else."""

    wall: float = 0.0
    main: float = 0.0
    children: float = 0.0
    other: float = 0.0  # other processes on the machine (concurrent jobs): noise
    steal: float = 0.0  # time the hypervisor gave our vCPUs to someone else: noise

    @property
    def other_share(self) -> float:
        """Fraction of the machine's capacity used by others (incl. steal) during the interval."""
        capacity = self.wall * (os.cpu_count() or 1)
        return (self.other + self.steal) / capacity if capacity else 0.0


class CpuMeter:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._tree = tree_cpu_seconds()
        self._machine = machine_cpu_seconds()

    def stop(self) -> CpuUsage:
        wall = time.perf_counter() - self._wall
        main, children = (b - a for a, b in zip(self._tree, tree_cpu_seconds(), strict=True))
        busy, steal = (b - a for a, b in zip(self._machine, machine_cpu_seconds(), strict=True))
        other = max(0.0, busy - steal - main - children)
        return CpuUsage(wall=wall, main=main, children=children, other=other, steal=steal)


# ==== pipeline ==================================================================================


@dataclass
class PhaseResult:
    fmt: str
    matter_id: str
    documents: int
    uploaded: int
    deduplicated: int
    rejected: list[str]
    failed: list[str]
    pages: int
    ocr_pages: int
    chunks: int
    upload_seconds: float
    seconds: float  # first upload -> last document ready/failed
    cpu: CpuUsage
    stage_ms_total: dict[str, float]
    stage_ms_mean: dict[str, float]
    stage_ms_p95: dict[str, float]
    timed_out: bool = False
    # Follow-up stages, after the documents are searchable: seconds from the first upload until
    # every analysis (embedding) stage of the matter has finished, CPU of the interval from
    # searchable to all stages done, mean stage times, and stages that ended failed.
    analysis_seconds: float = 0.0
    embedding_seconds: float = 0.0
    followup_cpu: CpuUsage | None = None
    followup_ms_mean: dict[str, float] = field(default_factory=dict)
    followup_failed: dict[str, int] = field(default_factory=dict)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def analysis_pages_per_second(self) -> float:
        return self.pages / self.analysis_seconds if self.analysis_seconds else 0.0

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def ingest_phase(
    runtime: Any, principal: Any, fmt: str, contracts: Sequence[Contract], timeout: float
) -> PhaseResult:
    from sqlalchemy import func, select

    from legalai.documents.intake import StagedFile, sanitize_filename, stage_stream
    from legalai.documents.models import (
        STAGE_FINISHED,
        Chunk,
        Document,
        DocumentVersion,
        Page,
        StageStatus,
        VersionStage,
    )
    from legalai.documents.service import ingest_files
    from legalai.kit.db import transaction
    from legalai.kit.errors import DomainError
    from legalai.matters.service import get_or_create_matter

    name = MATTERS[fmt]
    with transaction(runtime.sessions) as session:
        existing, principal = get_or_create_matter(session, principal, name)
        has_docs = session.scalar(select(func.count()).where(Document.matter_id == existing.id))
        if has_docs:  # a reused database: start from an empty matter, or uploads deduplicate
            stamped = f"{name} {datetime.now(UTC):%Y%m%dT%H%M%S}"
            existing, principal = get_or_create_matter(session, principal, stamped)
        matter_id = existing.id

    rejected: list[str] = []
    deduplicated = 0
    document_ids: set[str] = set()
    meter = CpuMeter()
    started = time.perf_counter()
    for contract in contracts:
        filename = sanitize_filename(f"{contract.name}.{fmt}")
        try:
            with transaction(runtime.sessions) as session:
                with contract.rendered[fmt].open("rb") as fh:
                    temp, sha, size = stage_stream(
                        fh, runtime.scratch, runtime.settings.max_upload_bytes, name=filename
                    )
                ctx = runtime.intake(session, principal)
                report = ingest_files(ctx, matter_id, [StagedFile(filename, "", temp, sha, size)])
        except DomainError as exc:
            rejected.append(f"{filename}: {exc.detail}")
            continue
        for outcome in report.outcomes:
            if outcome.error is not None or outcome.document_id is None:
                rejected.append(f"{filename}: {outcome.error.detail if outcome.error else 'no document'}")
            else:
                deduplicated += outcome.deduplicated
                document_ids.add(outcome.document_id)
    upload_seconds = time.perf_counter() - started

    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        with runtime.sessions() as session:
            done = session.scalar(
                select(func.count()).where(
                    Document.matter_id == matter_id, Document.status.in_(("ready", "failed"))
                )
            )
        if (done or 0) >= len(document_ids):
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    cpu = meter.stop()

    # Searchable; now until every follow-up stage (analysis, embedding) has finished.
    followup_meter = CpuMeter()
    finished_at: dict[str, float] = {}
    current = (VersionStage.version_id == Document.current_version_id) & (Document.matter_id == matter_id)
    while not timed_out:
        with runtime.sessions() as session:
            ready = session.scalar(
                select(func.count()).where(Document.matter_id == matter_id, Document.status == "ready")
            )
            done = dict(
                session.execute(
                    select(VersionStage.stage, func.count())
                    .join(Document, current)
                    .where(VersionStage.status.in_(STAGE_FINISHED))
                    .group_by(VersionStage.stage)
                ).all()
            )
        for stage in ("analysis", "embedding"):
            if stage not in finished_at and done.get(stage, 0) >= (ready or 0):
                finished_at[stage] = time.perf_counter() - started
        if len(finished_at) == 2:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.1)
    followup_cpu = followup_meter.stop()
    with runtime.sessions() as session:
        stage_rows = session.execute(
            select(VersionStage.stage, VersionStage.status, VersionStage.duration_ms).join(Document, current)
        ).all()
    followup_values: dict[str, list[float]] = {}
    followup_failed: dict[str, int] = {}
    for stage, status, ms in stage_rows:
        if ms is not None:
            followup_values.setdefault(stage, []).append(float(ms))
        if status == StageStatus.failed.value:
            followup_failed[stage] = followup_failed.get(stage, 0) + 1

    with runtime.sessions() as session:
        rows = session.execute(
            select(
                Document.filename,
                DocumentVersion.status,
                DocumentVersion.page_count,
                DocumentVersion.timings,
                DocumentVersion.failure_reason,
            )
            .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
            .where(Document.matter_id == matter_id)
        ).all()
        version_ids = select(Document.current_version_id).where(Document.matter_id == matter_id)
        ocr_pages = session.scalar(
            select(func.count()).select_from(Page).where(Page.version_id.in_(version_ids), Page.ocr.is_(True))
        )
        chunks = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.matter_id == matter_id))
    stage_values: dict[str, list[float]] = {}
    for row in rows:
        for stage, ms in (row.timings or {}).items():
            stage_values.setdefault(stage, []).append(float(ms))
    return PhaseResult(
        fmt=fmt,
        matter_id=matter_id,
        documents=len(rows),
        uploaded=len(contracts),
        deduplicated=deduplicated,
        rejected=rejected,
        failed=[f"{r.filename}: {r.failure_reason or r.status}" for r in rows if r.status != "ready"],
        pages=sum(r.page_count or 0 for r in rows),
        ocr_pages=ocr_pages or 0,
        chunks=chunks or 0,
        upload_seconds=upload_seconds,
        seconds=seconds,
        cpu=cpu,
        stage_ms_total={k: sum(v) for k, v in stage_values.items()},
        stage_ms_mean={k: statistics.fmean(v) for k, v in stage_values.items()},
        stage_ms_p95={k: percentile(v, 95) for k, v in stage_values.items()},
        timed_out=timed_out,
        analysis_seconds=finished_at.get("analysis", 0.0),
        embedding_seconds=finished_at.get("embedding", 0.0),
        followup_cpu=followup_cpu,
        followup_ms_mean={k: statistics.fmean(v) for k, v in followup_values.items()},
        followup_failed=followup_failed,
    )


# ==== search ====================================================================================

FIXED_QUERIES = (
    "termination",
    '"governing law"',
    "indemnif*",
    "confidential information",
    "exclusive -non",
    "arbitration OR mediation",
    '"limitation of liability"',
    "assign*",
    '"force majeure"',
    "terminat* -convenience",
    "royalt*",
    "non-compete OR noncompete",
    '"most favored"',
    "audit rights",
    "insurance coverage",
    "license grant",
    '"change of control"',
    "liquidated damages",
    "minimum purchase",
    "warrant* disclaim*",
)
_VOCAB_WORD = re.compile(r"[A-Za-z]{4,}")


def build_queries(texts: Iterable[str], count: int, seed: int = 20240101) -> list[str]:
    """Fixed legal queries alternating with queries made of corpus words drawn from a seeded RNG."""
    words: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for line in text.lower().splitlines():
            tokens = _VOCAB_WORD.findall(line)
            words.update(tokens)
            bigrams.update(itertools.pairwise(tokens))
    vocab = sorted(w for w, n in words.items() if n >= 5)
    pairs = sorted(p for p, n in bigrams.items() if n >= 5)
    rng = random.Random(seed)
    shapes: list[Callable[[], str]] = [
        lambda: rng.choice(vocab),
        lambda: f"{rng.choice(vocab)} {rng.choice(vocab)}",
        lambda: rng.choice(vocab)[:5] + "*",
        lambda: '"{} {}"'.format(*rng.choice(pairs)),
        lambda: f"{rng.choice(vocab)} OR {rng.choice(vocab)}",
        lambda: f"{rng.choice(vocab)} -{rng.choice(vocab)}",
    ]
    queries: list[str] = []
    for i in range(count):
        if i % 2 == 0 or not vocab or not pairs:
            queries.append(FIXED_QUERIES[(i // 2) % len(FIXED_QUERIES)])
        else:
            queries.append(shapes[(i // 2) % len(shapes)]())
    return queries


@dataclass
class SearchResult:
    queries: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_hits: float
    slowest: list[tuple[str, float]]


def run_searches(
    runtime: Any, principal: Any, matter_id: str, queries: Sequence[str], search: Callable[..., list[Any]]
) -> SearchResult:
    """Each query as one request would run it: its own session, ``search(..., limit=20)``."""

    def once(query: str) -> tuple[float, int]:
        started = time.perf_counter()
        with runtime.sessions() as session:
            hits = search(session, principal, matter_id, query, limit=20)
        return (time.perf_counter() - started) * 1000, len(hits)

    for query in queries[:10]:  # warm-up: connection pool, statement caches, page cache
        once(query)
    timed = [(query, *once(query)) for query in queries]
    latencies = [ms for _q, ms, _n in timed]
    return SearchResult(
        queries=len(timed),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        max_ms=max(latencies, default=0.0),
        mean_hits=statistics.fmean(n for _q, _ms, n in timed) if timed else 0.0,
        slowest=[(q, round(ms, 1)) for q, ms, _n in sorted(timed, key=lambda t: -t[1])[:5]],
    )


# ==== diagnostics ===============================================================================


def sandbox_round_trip_ms(runtime: Any, scratch: Path, calls: int = 20) -> float:
    """Median wall time of one sandboxed extraction of a tiny text file: the per-document floor."""
    sample = scratch / "tiny.txt"
    sample.write_text("The parties agree.\n")
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        runtime.sandbox.run(sample, "text")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _stop_fork_server() -> None:
    """Stop and reap multiprocessing's fork server (private API; best effort).

    Extraction children are children of the fork server, which reaps them: only once the fork
    server itself has been reaped do they count in this process's RUSAGE_CHILDREN.
    """
    import multiprocessing.forkserver

    stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
    if callable(stop):
        try:
            stop()
        except Exception as exc:
            log(f"could not stop the fork server: {exc}")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# ==== report ====================================================================================


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    uname = os.uname()
    return {
        "nproc": str(os.cpu_count() or 0),
        "cpu": model,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "pypdfium2": package_version("pypdfium2"),
        # os.uname(), not platform.platform(): that runs `uname -p`, a child that would inherit
        # (and report in RUSAGE_CHILDREN) this process's resident size.
        "platform": f"{uname.sysname} {uname.release} {uname.machine}",
    }


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    m = results["machine"]
    rows: list[tuple[str, str, str]] = [
        ("machine", f"{m['nproc']} CPU, {m['cpu']}, {m['memory']} RAM, Python {m['python']}", ""),
        ("database", results["database"], ""),
        ("worker", f"in-process, {results['threads']} threads", ""),
    ]
    r = results["render"]
    rows.append(
        (
            "render (not timed below)",
            f"{r['rendered']} rendered, {r['cached']} cached, {r['seconds']:.1f} s, "
            f"deterministic={'yes' if r['deterministic'] else 'NO'}",
            "",
        )
    )
    t = results["targets"]
    b = results.get("baseline")
    pdf = results["phases"].get("pdf")
    if b:
        rows.append(("PDF documents / pages", f"{b['documents']} / {b['pages']:,}", ""))
        passes = ", ".join(f"{r['pages_per_second']:,.0f}" for r in results["baseline_runs"])
        rows.append(
            (
                "bare pypdfium2 (1 process)",
                f"{b['pages_per_second']:,.0f} pages/s ({b['seconds']:.2f} s; passes before/after: {passes})",
                "",
            )
        )
        rows.append(("bare pypdfium2 CPU s", _cpu(b["cpu"]), ""))
    if pdf:
        rows.append(
            (
                "PDF end-to-end",
                f"{pdf['pages_per_second']:,.0f} pages/s ({pdf['seconds']:.1f} s, "
                f"{pdf['documents_per_second']:.1f} docs/s; uploads {pdf['upload_seconds']:.1f} s)",
                "",
            )
        )
    if "ratio" in t:
        rows.append(
            (
                "ratio end-to-end / bare",
                f"{t['ratio']['value']:.3f}",
                f"target >= 0.333: {_verdict(t['ratio']['pass'])}",
            )
        )
    for fmt, p in results["phases"].items():
        if not p.get("analysis_seconds"):
            continue
        rows.append(
            (
                f"{fmt.upper()} all analyses done",
                f"{p['analysis_pages_per_second']:,.0f} pages/s ({p['analysis_seconds']:.1f} s after the "
                f"first upload, {p['analysis_seconds'] - p['seconds']:.1f} s after searchable)",
                "",
            )
        )
        rows.append(
            (
                f"{fmt.upper()} all embeddings done",
                f"{p['embedding_seconds']:.1f} s after the first upload",
                "",
            )
        )
        failed = ", ".join(f"{k} {v}" for k, v in sorted(p["followup_failed"].items())) or "none"
        rows.append((f"{fmt.upper()} failed follow-up stages", failed, ""))
    docx = results["phases"].get("docx")
    if docx:
        rows.append(
            (
                "DOCX end-to-end",
                f"{docx['documents_per_second']:.1f} docs/s "
                f"({docx['documents']} docs, {docx['seconds']:.1f} s)",
                "",
            )
        )
    failures = sum(len(p["failed"]) + len(p["rejected"]) for p in results["phases"].values())
    rows.append(("failed or rejected documents", str(failures), f"target 0: {_verdict(failures == 0)}"))
    mem = results["memory"]
    rows.append(
        (
            "peak RSS, process tree (sampled)",
            _mb(mem["tree_peak_bytes"]),
            f"target < 1 GB: {_verdict(t['memory']['pass'])}",
        )
    )
    rows.append(
        (
            "ru_maxrss self / children; largest child",
            f"{_mb(mem['ru_maxrss_self_bytes'])} / {_mb(mem['ru_maxrss_children_bytes'])}; "
            f"{_mb(mem['largest_child_peak_bytes'])} (sampled)",
            "",
        )
    )
    s = results.get("search")
    if s:
        rows.append(
            (
                "search (PDF matter)",
                f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
                f"max {s['max_ms']:.1f} ms ({s['queries']} queries)",
                f"target p95 < 50 ms: {_verdict(t['search']['pass'])}",
            )
        )
    for fmt, p in results["phases"].items():
        stages = ", ".join(f"{k} {v:.1f}" for k, v in p["stage_ms_mean"].items())
        rows.append((f"{fmt.upper()} mean ms/doc by stage", stages, ""))
        rows.append((f"{fmt.upper()} CPU s main / extraction children", _cpu(p["cpu"]), ""))
        if p.get("followup_ms_mean"):
            stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(p["followup_ms_mean"].items()))
            rows.append((f"{fmt.upper()} mean ms/doc by follow-up stage", stages, ""))
        if p.get("followup_cpu"):
            rows.append((f"{fmt.upper()} CPU s searchable -> stages done", _cpu(p["followup_cpu"]), ""))
        if p["ocr_pages"]:
            rows.append((f"{fmt.upper()} pages OCR'd", str(p["ocr_pages"]), ""))
    if "sandbox_round_trip_ms" in results:
        rows.append(("sandbox round trip (tiny file)", f"{results['sandbox_round_trip_ms']:.1f} ms", ""))
    return rows


def _cpu(cpu: dict[str, float]) -> str:
    share = (cpu["other"] + cpu["steal"]) / max(cpu["wall"] * (os.cpu_count() or 1), 1e-9)
    return (
        f"{cpu['main']:.1f} / {cpu['children']:.1f} of {cpu['wall']:.1f} s x {os.cpu_count()} CPU; "
        f"other processes {cpu['other']:.1f} s, steal {cpu['steal']:.1f} s ({share:.0%} of the machine)"
    )


NOISY_SHARE = 0.10


def noise_warnings(results: dict[str, Any]) -> list[str]:
    """Timed intervals during which other processes used a noticeable share of the machine."""
    timed = [
        (f"bare pypdfium2 pass {i + 1}", r["cpu"]) for i, r in enumerate(results.get("baseline_runs", []))
    ]
    timed += [(f"{fmt.upper()} ingestion", p["cpu"]) for fmt, p in results["phases"].items()]
    timed += [
        (f"{fmt.upper()} follow-up stages", p["followup_cpu"])
        for fmt, p in results["phases"].items()
        if p.get("followup_cpu")
    ]
    warnings = []
    for label, cpu in timed:
        share = (cpu["other"] + cpu["steal"]) / max(cpu["wall"] * (os.cpu_count() or 1), 1e-9)
        if share > NOISY_SHARE:
            warnings.append(
                f"other processes used {share:.0%} of the machine during {label}: not representative"
            )
    return warnings


def format_table(rows: Sequence[tuple[str, str, str]]) -> str:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    rule = "-" * min(max(len(line) for line in lines), 160)
    return "\n".join([rule, *lines, rule])


# ==== main ======================================================================================


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of .txt contracts")
    parser.add_argument("--limit", type=int, default=None, help="first N contracts by name (default all)")
    parser.add_argument("--formats", default="pdf,docx", help="comma-separated: pdf,docx")
    parser.add_argument("--threads", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file under bench/out/run-<timestamp>/"
    )
    parser.add_argument("--search-queries", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait per format")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        parser.error(f"--formats takes pdf and/or docx, got {args.formats!r}")
    args.formats = [f for f in FORMATS if f in formats]
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_owner(session: Any, accounts: Any, role: Any) -> Any:
    """The benchmark acts as the owner of a "Bench" organization (created on a fresh database)."""
    email = "bench@example.com"
    user = accounts.find_user(session, email)
    if user is None:
        org = accounts.create_organization(session, "Bench")
        user = accounts.create_user(session, email, None, "Benchmark")
        accounts.add_to_organization(session, org.id, user.id, role.owner)
    return accounts.acting_principal(session, email)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from legalai.accounts import service as accounts
    from legalai.accounts.models import Role
    from legalai.kit.db import transaction
    from legalai.kit.migrate import upgrade
    from legalai.observability.logging import configure_logging
    from legalai.runtime import build_runtime
    from legalai.search.lexical import search as lexical_search  # imported early: fail fast
    from legalai.settings import Environment, Settings

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = OUT / f"run-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": args.threads,
        "formats": args.formats,
        "run_dir": str(run_dir),
        "phases": {},
        "targets": {},
    }

    contracts = load_contracts(args.corpus, args.limit)
    if not contracts:
        raise SystemExit(f"no .txt contracts in {args.corpus}")
    log(f"{len(contracts)} contracts; rendering {','.join(args.formats)} (cached in {RENDER_DIR})")
    render = render_all(contracts, args.formats, os.cpu_count() or 1)
    results["render"] = asdict(render)
    log(f"render: {render.rendered} rendered, {render.cached} cached in {render.seconds:.1f} s")

    settings = Settings(
        environment=Environment.local,
        data_dir=run_dir,
        database_url=args.database_url or "",
        worker_threads=args.threads,
        worker_mode="inprocess",
        redis_url=None,
        storage_backend="local",
        storage_path=None,
        log_level="WARNING",
    )
    results["database"] = settings.resolved_database_url.split("@")[-1].replace(str(ROOT) + "/", "")

    pdf_paths = [c.rendered["pdf"] for c in contracts] if "pdf" in args.formats else []
    baselines: list[Baseline] = []

    def baseline_pass(when: str) -> None:
        log(f"baseline ({when}): bare pypdfium2")
        baseline = bare_pypdfium2(pdf_paths, settings.ocr_min_chars_per_page)
        baselines.append(baseline)
        log(f"baseline ({when}): {baseline.pages} pages in {baseline.seconds:.2f} s")

    if pdf_paths:
        baseline_pass("before")

    configure_logging("WARNING", json=True)
    runtime = build_runtime(settings)
    sampler = TreeRssSampler()
    try:
        upgrade(runtime.engine)
        with transaction(runtime.sessions) as session:
            principal = bench_owner(session, accounts, Role)
        runtime.queue.start_worker(args.threads)
        sampler.start()
        phases: dict[str, PhaseResult] = {}
        for fmt in args.formats:
            log(f"pipeline: ingesting {len(contracts)} {fmt.upper()} files")
            phase = ingest_phase(runtime, principal, fmt, contracts, args.timeout)
            phases[fmt] = phase
            results["phases"][fmt] = {
                **asdict(phase),
                "pages_per_second": phase.pages_per_second,
                "documents_per_second": phase.documents_per_second,
                "analysis_pages_per_second": phase.analysis_pages_per_second,
            }
            log(
                f"pipeline {fmt}: {phase.documents} docs, {phase.pages} pages searchable in "
                f"{phase.seconds:.1f} s, analyzed in {phase.analysis_seconds:.1f} s"
            )
            for problem in phase.rejected + phase.failed:
                log(f"  not ingested: {problem}")
        search_matter = phases["pdf" if "pdf" in phases else args.formats[0]].matter_id
        # What the service's sweeper does within a minute of a bulk load (PostgreSQL only; a no-op
        # on SQLite): refresh planner statistics, so search is measured as users will meet it.
        from legalai.kit.db import refresh_planner_statistics

        analyzed = refresh_planner_statistics(runtime.engine)
        results["analyzed_tables"] = analyzed
        log(f"search: {args.search_queries} queries (tables analyzed first: {', '.join(analyzed) or 'none'})")
        queries = build_queries((c.text for c in contracts), args.search_queries)
        with transaction(runtime.sessions) as session:  # now a member of the matters just created
            principal = bench_owner(session, accounts, Role)
        search = run_searches(runtime, principal, search_matter, queries, lexical_search)
        results["search"] = asdict(search)
        results["search"]["matter"] = MATTERS["pdf" if "pdf" in phases else args.formats[0]]
        sampler.stop()
        results["sandbox_round_trip_ms"] = sandbox_round_trip_ms(runtime, run_dir)
    finally:
        sampler.stop()
        runtime.close()
        _stop_fork_server()
    if pdf_paths:
        # Twice, before and after the pipeline, and the faster pass counts: a burst of load from
        # elsewhere on the machine must not make the baseline look slow (and the target easy).
        baseline_pass("after")
        runs = [{**asdict(b), "pages_per_second": b.pages_per_second} for b in baselines]
        results["baseline_runs"] = runs
        results["baseline"] = max(runs, key=lambda r: r["pages_per_second"])

    results["memory"] = {
        "tree_peak_bytes": sampler.peak_bytes,
        "tree_peak_processes": sampler.peak_processes,
        "largest_child_peak_bytes": sampler.peak_child_bytes,
        "tree_samples": sampler.samples,
        "ru_maxrss_self_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "ru_maxrss_children_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }
    targets = results["targets"]
    if "baseline" in results and "pdf" in results["phases"]:
        bare = max(results["baseline"]["pages_per_second"], 1e-9)
        ratio = results["phases"]["pdf"]["pages_per_second"] / bare
        targets["ratio"] = {"value": ratio, "target": TARGET_RATIO, "pass": ratio >= TARGET_RATIO}
    peak = max(results["memory"]["tree_peak_bytes"], results["memory"]["ru_maxrss_self_bytes"])
    targets["memory"] = {"value": peak, "target": TARGET_PEAK_BYTES, "pass": peak < TARGET_PEAK_BYTES}
    targets["search"] = {
        "value": search.p95_ms,
        "target": TARGET_P95_MS,
        "pass": search.p95_ms < TARGET_P95_MS,
    }
    results["warnings"] = noise_warnings(results)
    (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2, default=str) + "\n")
    else:
        print(f"LegalAI ingestion benchmark, {results['date']}")
        print(format_table(build_rows(results)))
        if results["search"]["slowest"]:
            slow = ", ".join(f"{q!r} {ms} ms" for q, ms in results["search"]["slowest"])
            print(f"slowest queries: {slow}")
        for warning in results["warnings"]:
            print(f"WARNING: {warning}")
        print(f"results: {results['run_dir']}/results.json")
    errors = sum(len(p["failed"]) + len(p["rejected"]) + p["timed_out"] for p in results["phases"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
