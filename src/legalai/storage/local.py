"""Blob store on a local (or mounted) filesystem."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from legalai.storage.protocol import BlobCorrupted, BlobNotFound, StorageError

CHUNK_SIZE = 1024 * 1024


class VerifyingReader:
    """Read-only view of ``source`` that enforces the promised size and SHA-256.

    It raises :class:`StorageError` as soon as more than ``size`` bytes arrive, and at end of
    stream when the byte count or digest differ, so a writer fails *before* committing anything.
    Deliberately exposes only ``read`` (not seek/tell) so boto3 streams it sequentially.
    """

    def __init__(self, source: BinaryIO, *, key: str, sha256: str, size: int) -> None:
        self._source = source
        self._key = key
        self._expected = sha256.lower()
        self._size = size
        self._hash = hashlib.sha256()
        self._count = 0

    def read(self, n: int = -1) -> bytes:
        # Fill the request completely (or hit EOF): callers such as s3transfer treat a short
        # read as end of stream.
        parts: list[bytes] = []
        remaining = n if n >= 0 else -1
        while remaining != 0:
            data = self._source.read(CHUNK_SIZE if remaining < 0 else min(remaining, CHUNK_SIZE))
            if not data:
                self._verify_complete()
                break
            self._hash.update(data)
            self._count += len(data)
            if self._count > self._size:
                raise StorageError(f"source for {self._key} is larger than the declared {self._size} bytes")
            parts.append(data)
            if remaining > 0:
                remaining -= len(data)
        return b"".join(parts)

    def _verify_complete(self) -> None:
        if self._count != self._size:
            raise StorageError(f"source for {self._key} has {self._count} bytes, expected {self._size}")
        if self._hash.hexdigest() != self._expected:
            raise StorageError(f"source for {self._key} does not match its declared sha256")


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    # ---- BlobStore ------------------------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, *, sha256: str, size: int) -> None:
        path = self._path(key)
        if _file_size(path) == size:
            return  # content-addressed: same key and size means same content
        reader = VerifyingReader(source, key=key, sha256=sha256, size=size)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A private temp file in the target directory makes os.replace atomic, so readers and
            # concurrent writers of the same key only ever see a complete blob.
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        except OSError as exc:
            raise StorageError(f"cannot write blob {key}: {exc.strerror}") from exc
        tmp = Path(tmp_name)
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := reader.read(CHUNK_SIZE):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                raise StorageError(f"cannot write blob {key}: {exc.strerror}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)  # also on a checksum mismatch: leave nothing behind
            raise
        _fsync_dir(path.parent)  # make the rename itself durable

    def get_bytes(self, key: str, *, sha256: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {key} not found") from exc
        except OSError as exc:
            raise StorageError(f"cannot read blob {key}: {exc.strerror}") from exc
        if hashlib.sha256(data).hexdigest() != sha256.lower():
            raise BlobCorrupted(f"blob {key} does not match its sha256")
        return data

    def download_to(self, key: str, target: Path, *, sha256: str) -> None:
        path = self._path(key)
        digest = hashlib.sha256()
        try:
            src = path.open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {key} not found") from exc
        except OSError as exc:
            raise StorageError(f"cannot read blob {key}: {exc.strerror}") from exc
        try:
            try:
                with src, Path(target).open("wb") as out:
                    while chunk := src.read(CHUNK_SIZE):
                        digest.update(chunk)
                        out.write(chunk)
            except OSError as exc:
                raise StorageError(f"cannot copy blob {key} to {target}: {exc.strerror}") from exc
            if digest.hexdigest() != sha256.lower():
                raise BlobCorrupted(f"blob {key} does not match its sha256")
        except BaseException:
            Path(target).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete blob {key}: {exc.strerror}") from exc

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-") as probe:
                probe.write(b"ok")
                probe.flush()
        except OSError as exc:
            raise StorageError(f"blob storage at {self.root} is not writable: {exc.strerror}") from exc

    # ---- helpers --------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        # Keys are relative "a/b/c" paths; anything that could leave root (absolute, "..") or
        # be ambiguous (empty segments, backslashes, NUL) is refused.
        segments = key.split("/")
        if any(s in ("", ".", "..") for s in segments) or "\\" in key or "\0" in key:
            raise StorageError(f"invalid blob key {key!r}")
        return self.root.joinpath(*segments)


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _fsync_dir(directory: Path) -> None:
    # Not every platform/filesystem allows opening a directory; durability there is best effort.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
