from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from legalai.settings import load_settings
from legalai.storage import (
    BlobCorrupted,
    BlobNotFound,
    LocalBlobStore,
    StorageError,
    blob_key,
    build_blob_store,
)


def blob(size: int = 3 * 1024 * 1024 + 17) -> tuple[bytes, str, str]:
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    return data, sha, blob_key(sha)


class Unreadable(io.RawIOBase):
    def read(self, n: int = -1) -> bytes:
        raise AssertionError("source must not be read")


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".")]


def test_roundtrip(store: LocalBlobStore, tmp_path: Path) -> None:
    data, sha, key = blob()
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))

    assert store.exists(key)
    assert store.get_bytes(key, sha256=sha) == data
    target = tmp_path / "out.bin"
    store.download_to(key, target, sha256=sha)
    assert target.read_bytes() == data
    assert leftovers(store.root) == []


def test_put_reads_from_current_position(store: LocalBlobStore) -> None:
    data, sha, key = blob(1000)
    source = io.BytesIO(b"header" + data)
    source.seek(6)
    store.put(key, source, sha256=sha, size=len(data))
    assert store.get_bytes(key, sha256=sha) == data


def test_put_is_idempotent(store: LocalBlobStore) -> None:
    data, sha, key = blob(1000)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    store.put(key, Unreadable(), sha256=sha, size=len(data))
    assert store.get_bytes(key, sha256=sha) == data


@pytest.mark.parametrize("declared_size_delta", [0, -1, 1])
def test_put_rejects_wrong_content_and_leaves_nothing(
    store: LocalBlobStore, declared_size_delta: int
) -> None:
    data, sha, key = blob(100_000)
    wrong = data if declared_size_delta else data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(StorageError, match="source for"):
        store.put(key, io.BytesIO(wrong), sha256=sha, size=len(data) + declared_size_delta)
    assert not store.exists(key)
    assert leftovers(store.root) == []


def test_missing_blob(store: LocalBlobStore, tmp_path: Path) -> None:
    _, sha, key = blob(10)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.get_bytes(key, sha256=sha)
    target = tmp_path / "out.bin"
    with pytest.raises(BlobNotFound):
        store.download_to(key, target, sha256=sha)
    assert not target.exists()
    store.delete(key)  # missing is not an error


def test_delete(store: LocalBlobStore) -> None:
    data, sha, key = blob(10)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    store.delete(key)
    assert not store.exists(key)


def test_corruption_is_detected(store: LocalBlobStore, tmp_path: Path) -> None:
    data, sha, key = blob()
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    (store.root / key).write_bytes(data[:-1] + b"X")

    with pytest.raises(BlobCorrupted, match=key):
        store.get_bytes(key, sha256=sha)
    target = tmp_path / "out.bin"
    with pytest.raises(BlobCorrupted, match=key):
        store.download_to(key, target, sha256=sha)
    assert not target.exists()


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../outside", "sha256/../../outside", "a//b", "a/./b", "a\\..\\b", "a/"]
)
def test_rejects_keys_escaping_root(store: LocalBlobStore, key: str) -> None:
    with pytest.raises(StorageError, match="invalid blob key"):
        store.put(key, io.BytesIO(b"x"), sha256=hashlib.sha256(b"x").hexdigest(), size=1)
    with pytest.raises(StorageError, match="invalid blob key"):
        store.exists(key)


def test_concurrent_puts_of_same_key(store: LocalBlobStore) -> None:
    data, sha, key = blob(2 * 1024 * 1024)
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def put() -> None:
        barrier.wait()
        try:
            store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert store.get_bytes(key, sha256=sha) == data
    assert leftovers(store.root) == []


def test_check_creates_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "new" / "root")
    store.check()
    assert store.root.is_dir()
    assert list(store.root.iterdir()) == []  # the probe file is gone


def test_check_fails_when_root_unusable(tmp_path: Path) -> None:
    # A regular file where the root should be (chmod tricks do not work when tests run as root).
    (tmp_path / "root").write_bytes(b"")
    with pytest.raises(StorageError, match="not writable"):
        LocalBlobStore(tmp_path / "root").check()


def test_build_blob_store_local(tmp_path: Path) -> None:
    store = build_blob_store(load_settings(storage_path=tmp_path / "b"))
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "b").resolve()
