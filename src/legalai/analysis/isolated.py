"""Analyses computed in a child process, off the API process's interpreter lock.

With the in-process worker (the embedded default), analysis ran in worker threads of the API
process: pure-Python rules and model scoring holding the GIL in long stretches, which every request
thread then waited for (a load profile showed analysis at ~10 % of the GIL's time and request
latency rising with each upload). Here one long-lived child, forked from the service's fork server
(``legalai.kit.children``), runs ``analyze_pages``; worker threads send it a document's pages and
the organization's playbook source and wait for the result, so the API's GIL serves requests.

The child is trusted code on text that the service extracted (pickle both ways, like
``concurrent.futures`` always does): the untrusted parsing of files stays in the extraction
sandbox. It keeps the clause model and parsed playbooks loaded between documents. If it dies
(killed, out of memory), the analysis in flight fails with that reason, like any failed analysis
(stored as failed, the document stays ready), and the next one starts a new child.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from legalai.analysis.pipeline import Analyzers, PageText, analyze_pages
from legalai.kit import children

# ---- in the child ---------------------------------------------------------------------------------

_ANALYZERS: dict[str, Analyzers] = {}


def _analyzers(playbook_source: str | None) -> Analyzers:
    key = hashlib.sha256(playbook_source.encode()).hexdigest() if playbook_source is not None else ""
    cached = _ANALYZERS.get(key)
    if cached is None:
        from legalai.analysis.pipeline import load_clause_model
        from legalai.analysis.playbooks import default_playbook, load_playbook

        playbook = load_playbook(playbook_source) if playbook_source is not None else default_playbook()
        model, problems = load_clause_model()
        cached = Analyzers(clause_model=model, playbook=playbook, problems=problems)
        if len(_ANALYZERS) >= 32:  # organizations' playbooks; the default one is ""
            _ANALYZERS.pop(next(iter(_ANALYZERS)))
        _ANALYZERS[key] = cached
    return cached


def _analyze(playbook_source: str | None, pages: list[tuple[int, str]], max_chars: int) -> dict[str, Any]:
    return analyze_pages([PageText(n, t) for n, t in pages], _analyzers(playbook_source), max_chars=max_chars)


# ---- in the service ---------------------------------------------------------------------------------


class AnalysisProcessDied(RuntimeError):
    pass


class AnalysisPool:
    """One child process, started on first use and shared by the worker threads of a process."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=children.forkserver_context())
            return self._executor

    def _call(self, fn: Any, *args: Any) -> Any:
        executor = self._current()
        try:
            with children.without_main_module():  # the child is started by the first submit
                future = executor.submit(fn, *args)
            return future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise AnalysisProcessDied("the analysis process stopped before it answered") from exc

    def analyze(
        self, playbook_source: str | None, pages: Sequence[PageText], max_chars: int
    ) -> dict[str, Any]:
        texts = [(p.number, p.text) for p in pages]
        result: dict[str, Any] = self._call(_analyze, playbook_source, texts, max_chars)
        return result

    def pids(self) -> list[int]:
        with self._lock:
            executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(processes)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
