"""Child processes of the service: one ``forkserver``, and children that skip ``__main__``.

Forking the (multi-threaded) service itself is never done: a lock held by another thread at fork
time would stay locked forever in the child. Children are forked from a ``forkserver`` instead: a
clean, single-threaded process started once, which has already imported what the children need
(:func:`preload`, effective only before it starts), so a child starts in milliseconds.

``spawn``/``forkserver`` children normally re-import the parent's ``__main__`` (a console script,
``python app.py``, pytest...): that would cost a whole CLI import per child, and fail outright for
a ``__main__`` read from stdin. Our children only need their target's module, so the main-module
entries are dropped from the preparation data of the children a thread starts inside
:func:`without_main_module` (and only those: other users of multiprocessing see no change).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import threading
from collections.abc import Iterator
from typing import Any

_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")
_LOCK = threading.Lock()
_PRELOAD: list[str] = []
_context: multiprocessing.context.ForkServerContext | None = None
_starting = threading.local()
_original_preparation_data = multiprocessing.spawn.get_preparation_data


def _preparation_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = _original_preparation_data(name)
    if getattr(_starting, "active", False):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data


# multiprocessing looks ``spawn.get_preparation_data`` up at call time.
multiprocessing.spawn.get_preparation_data = _preparation_data


def preload(*modules: str) -> None:
    """Modules the fork server imports when it starts (no effect once it has started)."""
    with _LOCK:
        _PRELOAD.extend(m for m in modules if m not in _PRELOAD)


def forkserver_context() -> multiprocessing.context.ForkServerContext:
    """The process-wide forkserver context, its preload list set on first use."""
    global _context
    with _LOCK:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(_PRELOAD))
            _context = context
        return _context


@contextlib.contextmanager
def without_main_module() -> Iterator[None]:
    """While this thread starts children, leave ``__main__`` out of their preparation data."""
    _starting.active = True
    try:
        yield
    finally:
        _starting.active = False
