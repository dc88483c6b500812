"""Fingerprint of everything the full analysis finds, to prove a speed-up changes no result.

    uv run python bench/analysis_fingerprint.py [--source pdf|txt] [--limit N] [--label NAME]
    uv run python bench/analysis_fingerprint.py --compare bench/out/fingerprint/pdf-baseline.jsonl

Runs ``analyze_pages`` (the pipeline's full analysis: key terms, clauses, citations, personal
data, money, definitions, cross-references, deadlines, playbook risks, summary) over the CUAD
contracts, either as the bench's born-digital PDFs (``--source pdf``: the pages of the project's
PDF extractor, as in bench/analysis.py) or as their plain text (``--source txt``: one page each,
the raw UTF-8 with its smart quotes and dashes, as ``legalai eval`` sees them).

Each document's result becomes one canonical JSON line: the whole stored analysis (every finding
with its kind, values, page spans and confidences; summary, warnings, versions) minus the run's
timings, with sorted keys and floats rounded to 6 decimals (findings already round confidences to
3). The lines go to ``bench/out/fingerprint/<source>-<label>.jsonl`` and their SHA-256 is printed;
``--compare`` names the first documents whose lines differ from an earlier file.

Extracted PDF pages are cached in ``bench/out/fingerprint/pages-*.json`` (extraction is not what
is fingerprinted). Two worker processes by default (``--workers``); the order of the lines is the
sorted order of the contract files either way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import DEFAULT_CORPUS, OUT, load_contracts, render_all

FINGERPRINT_DIR = OUT / "fingerprint"
FLOAT_DIGITS = 6

_ANALYZERS: Any = None


def canonical(value: Any) -> Any:
    """``value`` with floats rounded, so the JSON does not depend on the last bits of a float."""
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def document_line(name: str, result: dict[str, Any]) -> str:
    stats = dict(result.get("stats", {}))
    stats.pop("timings_ms", None)
    stats.pop("total_ms", None)
    kept = {**result, "stats": stats}
    return json.dumps({"document": name, "analysis": canonical(kept)}, sort_keys=True, ensure_ascii=False)


def _analyze(job: tuple[str, list[tuple[int, str]]]) -> str:
    from legalai.analysis.pipeline import PageText, analyze_pages, default_analyzers

    global _ANALYZERS
    if _ANALYZERS is None:
        _ANALYZERS = default_analyzers()
        if _ANALYZERS.problems:
            raise SystemExit("; ".join(_ANALYZERS.problems))
    name, pages = job
    return document_line(name, analyze_pages([PageText(n, t) for n, t in pages], _ANALYZERS))


def pdf_pages(contracts: list[Any]) -> list[list[tuple[int, str]]]:
    """The pages the project's PDF extractor gives for each rendered contract (cached)."""
    from legalai.documents.extraction.registry import ExtractionOptions, extract

    render_all(contracts, ["pdf"], workers=2)
    paths = [c.rendered["pdf"] for c in contracts]
    key = hashlib.sha256("\n".join(p.name for p in paths).encode()).hexdigest()[:16]
    cache = FINGERPRINT_DIR / f"pages-{key}.json"
    if cache.exists():
        return [[(n, t) for n, t in doc] for doc in json.loads(cache.read_text(encoding="utf-8"))]
    options = ExtractionOptions()
    docs = [[(p.number, p.text) for p in extract(path, "pdf", options).pages] for path in paths]
    cache.write_text(json.dumps(docs), encoding="utf-8")
    return docs


def compare(a: Path, b: Path) -> int:
    left = a.read_text(encoding="utf-8").splitlines()
    right = b.read_text(encoding="utf-8").splitlines()
    differing = [json.loads(x)["document"] for x, y in zip(left, right, strict=False) if x != y]
    if len(left) != len(right):
        print(f"line counts differ: {len(left)} vs {len(right)}")
    print(f"{len(differing)} documents differ" + (": " + ", ".join(differing[:10]) if differing else ""))
    return 1 if differing or len(left) != len(right) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--source", choices=["pdf", "txt"], default="pdf")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--label", default="current")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", type=Path, default=None, help="a fingerprint file to compare with")
    args = parser.parse_args(argv)

    FINGERPRINT_DIR.mkdir(parents=True, exist_ok=True)
    contracts = load_contracts(args.corpus, args.limit)
    docs = pdf_pages(contracts) if args.source == "pdf" else [[(1, c.text)] for c in contracts]
    jobs = [(c.name, pages) for c, pages in zip(contracts, docs, strict=True)]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            lines = list(pool.map(_analyze, jobs, chunksize=4))
    else:
        lines = [_analyze(job) for job in jobs]
    out = FINGERPRINT_DIR / f"{args.source}-{args.label}.jsonl"
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    out.write_bytes(data)
    print(f"{args.source}: {len(lines)} documents, sha256 {hashlib.sha256(data).hexdigest()}  ({out})")
    if args.compare is not None:
        return compare(args.compare, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
