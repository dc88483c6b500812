"""Blob store on S3 or an S3-compatible service (MinIO, Ceph, ...)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Literal

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from legalai.storage.local import CHUNK_SIZE, VerifyingReader
from legalai.storage.protocol import BlobCorrupted, BlobNotFound, StorageError

# HEAD responses have no body, so a missing object only shows as "404".
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        server_side_encryption: Literal["AES256", "aws:kms"] | None = "AES256",
        kms_key_id: str | None = None,
        prefix: str = "",
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 3,
        multipart_threshold: int = 8 * 1024 * 1024,
        multipart_chunksize: int = 8 * 1024 * 1024,
    ) -> None:
        if kms_key_id and server_side_encryption != "aws:kms":
            raise ValueError("kms_key_id requires server_side_encryption='aws:kms'")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(
            signature_version="s3v4",
            # botocore's "max_attempts" counts retries only; "total_max_attempts" counts them all.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Self-hosted S3 services rarely have wildcard DNS for virtual-host bucket names.
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        # A private session (not boto3's global default) keeps credentials scoped to this store.
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            # Parts of a non-seekable stream are buffered in memory: few in flight keeps that small.
            max_concurrency=4,
        )
        self._extra_args: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"}
        if server_side_encryption:
            self._extra_args["ServerSideEncryption"] = server_side_encryption
        if kms_key_id:
            self._extra_args["SSEKMSKeyId"] = kms_key_id

    # ---- BlobStore ------------------------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, *, sha256: str, size: int) -> None:
        name = self._name(key)
        head = self._head(key)
        if (
            head is not None
            and head.get("ContentLength") == size
            and head.get("Metadata", {}).get("sha256") == sha256.lower()
        ):
            return
        # On a size/sha256 mismatch the reader raises at end of stream, before the single PUT or
        # CompleteMultipartUpload is sent: s3transfer aborts the upload and no object appears.
        reader = VerifyingReader(source, key=key, sha256=sha256, size=size)
        extra = {**self._extra_args, "Metadata": {"sha256": sha256.lower()}}
        with self._errors("upload", key):
            self._client.upload_fileobj(reader, self.bucket, name, ExtraArgs=extra, Config=self._transfer)

    def get_bytes(self, key: str, *, sha256: str) -> bytes:
        parts: list[bytes] = []
        self._stream(key, sha256, parts.append)
        return b"".join(parts)

    def download_to(self, key: str, target: Path, *, sha256: str) -> None:
        target = Path(target)
        try:
            with target.open("wb") as out:
                self._stream(key, sha256, out.write)
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise StorageError(f"cannot write {target} for blob {key}: {exc.strerror}") from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def delete(self, key: str) -> None:
        with self._errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def check(self) -> None:
        with self._errors("check bucket", None):
            self._client.head_bucket(Bucket=self.bucket)

    # ---- extras ---------------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests and development setups)."""
        with self._errors("create bucket", None):
            try:
                self._client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                    raise
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            region = self._client.meta.region_name
            if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                self._client.create_bucket(**kwargs)
            except ClientError as exc:
                if _code(exc) != "BucketAlreadyOwnedByYou":  # lost a creation race: fine
                    raise

    # ---- helpers --------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return self.prefix + key

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            with self._errors("head", key):
                head: dict[str, Any] = self._client.head_object(Bucket=self.bucket, Key=self._name(key))
                return head
        except BlobNotFound:
            return None

    def _stream(self, key: str, sha256: str, sink: Callable[[bytes], object]) -> None:
        digest = hashlib.sha256()
        with self._errors("download", key):
            body = self._client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
            try:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    digest.update(chunk)
                    sink(chunk)
            finally:
                body.close()
        if digest.hexdigest() != sha256.lower():
            raise BlobCorrupted(f"blob {key} in s3://{self.bucket} does not match its sha256")

    @contextmanager
    def _errors(self, action: str, key: str | None) -> Iterator[None]:
        """Translate botocore errors into StorageError subclasses."""
        try:
            yield
        except ClientError as exc:
            raise _storage_error(action, self.bucket, key, exc) from exc
        except BotoCoreError as exc:
            # Messages of BotoCoreError name the endpoint and the failure, never credentials.
            where = f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}"
            raise StorageError(f"S3 {action} failed for {where}: {exc}") from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _storage_error(action: str, bucket: str, key: str | None, exc: ClientError) -> StorageError:
    code = _code(exc)
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    if key is not None and code in _NOT_FOUND_CODES:
        return BlobNotFound(f"blob {where} not found")
    message = exc.response.get("Error", {}).get("Message", "")
    return StorageError(f"S3 {action} failed for {where}: {code} {message}".rstrip())
