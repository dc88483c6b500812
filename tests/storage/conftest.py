from __future__ import annotations

import sys
from pathlib import Path

# `tests.fixtures` must be importable from the project root; pytest only puts this directory on
# sys.path (pyproject's `pythonpath = ["."]` would make this unnecessary).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fixtures.s3server import s3_server  # noqa: E402

__all__ = ["s3_server"]
