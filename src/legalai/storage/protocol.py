"""Blob storage for original files, content-addressed by SHA-256.

StorageError
 +-- BlobNotFound
 +-- BlobCorrupted   the bytes read back do not hash to the key's SHA-256
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol


class StorageError(Exception):
    pass


class BlobNotFound(StorageError):
    pass


class BlobCorrupted(StorageError):
    pass


def blob_key(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    def put(self, key: str, source: BinaryIO, *, sha256: str, size: int) -> None:
        """Store ``source`` (read from its current position) under ``key``. Idempotent."""

    def get_bytes(self, key: str, *, sha256: str) -> bytes:
        """Read the whole blob, verifying its checksum."""

    def download_to(self, key: str, target: Path, *, sha256: str) -> None:
        """Write the blob to ``target``, verifying its checksum; ``target`` is removed on failure."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def check(self) -> None:
        """Raise StorageError when the store cannot be reached or written (used by /ready)."""
