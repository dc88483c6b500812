"""Analysis benchmark: full offline analysis of born-digital contracts, side by side with bare extraction.

    uv run python bench/analysis.py [--limit N] [--json]

1. Render the CUAD contracts to PDF (the same deterministic renderer and cache as bench/ingest.py).
2. Baseline: bare pypdfium2 text extraction of those PDFs, single process (pages/s).
3. Extraction with the project's PDF extractor (in-process, no sandbox) to get the pages.
4. Full analysis of every document (key terms, clauses, citations, personal data, money,
   definitions, deadlines, playbook risks, summary) in this one process, on one core: pages per
   CPU-second and per wall-second, and the time per analyzer.
5. Model load time: a fresh interpreter imports the package and loads the clause model.

Targets: analysis >= 30 pages/s per core (OCR excluded; these PDFs are born-digital); clause
model loads in < 2 s. Figures are also given as a ratio to the bare-extraction baseline of the
same run, since machines here are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import DEFAULT_CORPUS, bare_pypdfium2, load_contracts, machine, render_all

TARGET_PAGES_PER_CORE = 30.0
TARGET_LOAD_SECONDS = 2.0


def model_load_seconds(runs: int = 3) -> float:
    """Best of ``runs`` cold loads, each in a fresh interpreter (import + load)."""
    code = (
        "import time; t=time.perf_counter(); "
        "from legalai.analysis.pipeline import default_analyzers; default_analyzers(); "
        "print(time.perf_counter()-t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from legalai.analysis.pipeline import PageText, analyze_pages, default_analyzers
    from legalai.documents.extraction.registry import ExtractionOptions, extract

    contracts = load_contracts(args.corpus, args.limit)
    render = render_all(contracts, ["pdf"], workers=os.cpu_count() or 1)
    paths = [c.rendered["pdf"] for c in contracts]
    baseline = bare_pypdfium2(paths, sparse_threshold=16)

    options = ExtractionOptions()
    started = time.perf_counter()
    docs: list[list[Any]] = []
    ocr = 0  # born-digital PDFs: none expected; reported so a regression is visible
    for path in paths:
        result = extract(path, "pdf", options)
        docs.append([PageText(p.number, p.text) for p in result.pages])
        ocr += sum(1 for p in result.pages if p.ocr)
    extract_seconds = time.perf_counter() - started
    pages = sum(len(d) for d in docs)

    load_started = time.perf_counter()
    analyzers = default_analyzers()
    in_process_load = time.perf_counter() - load_started
    if analyzers.problems:
        raise SystemExit("; ".join(analyzers.problems))  # a benchmark without the model measures nothing
    analyze_pages(docs[0], analyzers)  # warm-up (first-call regex compilation, caches)

    per_analyzer: Counter[str] = Counter()
    findings: Counter[str] = Counter()
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    for doc in docs:
        result = analyze_pages(doc, analyzers)
        per_analyzer.update(result["stats"]["timings_ms"])
        for key in ("parties", "clauses", "citations", "personal_data", "money", "deadlines", "risks"):
            findings[key] += len(result[key])
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - wall_started

    per_core = pages / cpu_seconds if cpu_seconds else 0.0
    load = model_load_seconds()
    return {
        "machine": machine(),
        "documents": len(docs),
        "pages": pages,
        "ocr_pages": ocr,
        "render": {"rendered": render.rendered, "cached": render.cached},
        "baseline_pypdfium2_pages_per_s": round(baseline.pages_per_second, 1),
        "extraction_pages_per_s": round(pages / extract_seconds, 1),
        "analysis_pages_per_cpu_s": round(per_core, 1),
        "analysis_pages_per_wall_s": round(pages / wall_seconds, 1),
        "analysis_vs_bare_extraction": round(per_core / baseline.pages_per_second, 3)
        if baseline.pages_per_second
        else None,
        "analyzer_ms_per_page": {k: round(v / pages, 3) for k, v in per_analyzer.most_common()},
        "findings": dict(findings),
        "model_load_s_cold_process": round(load, 3),
        "model_load_s_in_process": round(in_process_load, 3),
        "targets": {
            "analysis_pages_per_core>=30": per_core >= TARGET_PAGES_PER_CORE,
            "model_load<2s": load < TARGET_LOAD_SECONDS,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"    {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
