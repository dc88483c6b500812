from __future__ import annotations

import hashlib
import io
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from legalai.settings import load_settings
from legalai.storage import BlobCorrupted, BlobNotFound, StorageError, blob_key, build_blob_store
from legalai.storage.s3 import S3BlobStore

CREDS = {"access_key_id": "testing", "secret_access_key": "testing-secret"}
MIB = 1024 * 1024


def blob(size: int) -> tuple[bytes, str, str]:
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    return data, sha, blob_key(sha)


class Unreadable(io.RawIOBase):
    def read(self, n: int = -1) -> bytes:
        raise AssertionError("source must not be read")


@pytest.fixture
def bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"  # one bucket per test: the moto server is shared


@pytest.fixture
def store(s3_server: str, bucket: str) -> S3BlobStore:
    # 5 MiB is S3's minimum part size; a 12 MiB blob then uploads in three parts.
    s = S3BlobStore(
        bucket,
        endpoint_url=s3_server,
        prefix="originals",
        multipart_threshold=5 * MIB,
        multipart_chunksize=5 * MIB,
        **CREDS,
    )
    s.ensure_bucket()
    return s


@pytest.fixture
def raw(s3_server: str) -> Iterator[Any]:
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing-secret", region_name="us-east-1"
    ).client("s3", endpoint_url=s3_server)
    yield client
    client.close()


def test_multipart_roundtrip_with_sse(store: S3BlobStore, raw: Any, bucket: str, tmp_path: Path) -> None:
    data, sha, key = blob(12 * MIB + 123)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))

    head = raw.head_object(Bucket=bucket, Key=f"originals/{key}")
    assert head["ETag"].strip('"').endswith("-3")  # multipart upload, three parts
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {"sha256": sha}
    assert head["ContentLength"] == len(data)

    assert store.exists(key)
    assert store.get_bytes(key, sha256=sha) == data
    target = tmp_path / "out.bin"
    store.download_to(key, target, sha256=sha)
    assert target.read_bytes() == data


def test_small_put_applies_sse(store: S3BlobStore, raw: Any, bucket: str) -> None:
    data, sha, key = blob(1000)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    head = raw.head_object(Bucket=bucket, Key=f"originals/{key}")
    assert head["ServerSideEncryption"] == "AES256"
    assert store.get_bytes(key, sha256=sha) == data


def test_put_is_idempotent(store: S3BlobStore) -> None:
    data, sha, key = blob(1000)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    store.put(key, Unreadable(), sha256=sha, size=len(data))
    assert store.get_bytes(key, sha256=sha) == data


@pytest.mark.parametrize("size", [1000, 12 * MIB])
def test_put_rejects_wrong_content_and_stores_nothing(
    store: S3BlobStore, raw: Any, bucket: str, size: int
) -> None:
    data, sha, key = blob(size)
    wrong = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(StorageError, match="does not match"):
        store.put(key, io.BytesIO(wrong), sha256=sha, size=len(data))
    assert not store.exists(key)
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_corruption_is_detected(store: S3BlobStore, raw: Any, bucket: str, tmp_path: Path) -> None:
    data, sha, key = blob(2 * MIB)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    raw.put_object(Bucket=bucket, Key=f"originals/{key}", Body=data[:-1] + b"X", Metadata={"sha256": sha})

    with pytest.raises(BlobCorrupted, match=key):
        store.get_bytes(key, sha256=sha)
    target = tmp_path / "out.bin"
    with pytest.raises(BlobCorrupted, match=key):
        store.download_to(key, target, sha256=sha)
    assert not target.exists()


def test_put_repairs_a_corrupted_object(store: S3BlobStore, raw: Any, bucket: str) -> None:
    data, sha, key = blob(1000)
    raw.put_object(Bucket=bucket, Key=f"originals/{key}", Body=b"garbage")
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    assert store.get_bytes(key, sha256=sha) == data


def test_missing_blob(store: S3BlobStore, tmp_path: Path) -> None:
    _, sha, key = blob(10)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.get_bytes(key, sha256=sha)
    target = tmp_path / "out.bin"
    with pytest.raises(BlobNotFound):
        store.download_to(key, target, sha256=sha)
    assert not target.exists()
    store.delete(key)  # missing is not an error


def test_delete(store: S3BlobStore) -> None:
    data, sha, key = blob(10)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    store.delete(key)
    assert not store.exists(key)


def test_check(store: S3BlobStore, s3_server: str) -> None:
    store.check()
    missing = S3BlobStore("no-such-bucket-here", endpoint_url=s3_server, **CREDS)
    with pytest.raises(StorageError) as info:
        missing.check()
    assert not isinstance(info.value, BlobNotFound)


def test_check_fails_fast_on_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block exits
    store = S3BlobStore(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        connect_timeout=1,
        read_timeout=1,
        max_attempts=1,
        **CREDS,
    )
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.check()
    assert time.monotonic() - started < 5
    assert "testing-secret" not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_kms_key_requires_kms_encryption() -> None:
    with pytest.raises(ValueError, match="aws:kms"):
        S3BlobStore("bucket", kms_key_id="key", **CREDS)


def test_build_blob_store_s3(s3_server: str, bucket: str) -> None:
    settings = load_settings(
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3_server,
        s3_access_key_id="testing",
        s3_secret_access_key="testing-secret",
        s3_server_side_encryption="none",
    )
    store = build_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.ensure_bucket()
    data, sha, key = blob(100)
    store.put(key, io.BytesIO(data), sha256=sha, size=len(data))
    assert store.get_bytes(key, sha256=sha) == data


def test_a_frozen_s3_fails_each_call_within_the_configured_timeouts(tmp_path: Path) -> None:
    """A server that accepts connections and never answers (S3 frozen by SIGSTOP, a hung proxy):
    every call gives up after about attempts x read timeout, as configured in settings."""
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(64)  # the kernel completes connections; nobody ever reads or answers
        settings = load_settings(
            storage_backend="s3",
            s3_bucket="bucket",
            s3_endpoint_url=f"http://127.0.0.1:{frozen.getsockname()[1]}",
            s3_access_key_id="testing",
            s3_secret_access_key="testing-secret",
            s3_connect_timeout_seconds=1,
            s3_read_timeout_seconds=1,
            s3_max_attempts=2,
        )
        store = build_blob_store(settings)
        config = store._client.meta.config  # type: ignore[attr-defined]
        assert (config.connect_timeout, config.read_timeout) == (1, 1)
        assert config.retries["total_max_attempts"] == 2  # the first call included
        data, sha, key = blob(100)
        calls = {
            "check": store.check,
            "put": lambda: store.put(key, io.BytesIO(data), sha256=sha, size=len(data)),
            "download": lambda: store.download_to(key, tmp_path / "out", sha256=sha),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StorageError):
                call()
            elapsed = time.monotonic() - started
            assert 1.5 <= elapsed < 8, f"{name} took {elapsed:.1f} s"


def test_default_s3_timeouts_are_bounded() -> None:
    settings = load_settings()
    worst = settings.s3_max_attempts * max(
        settings.s3_connect_timeout_seconds, settings.s3_read_timeout_seconds
    )
    assert worst <= 60
