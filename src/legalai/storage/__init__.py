"""Blob storage for original uploaded files (local filesystem or S3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from legalai.storage.local import LocalBlobStore
from legalai.storage.protocol import BlobCorrupted, BlobNotFound, BlobStore, StorageError, blob_key

if TYPE_CHECKING:
    from legalai.settings import Settings

__all__ = [
    "BlobCorrupted",
    "BlobNotFound",
    "BlobStore",
    "LocalBlobStore",
    "StorageError",
    "blob_key",
    "build_blob_store",
]


def build_blob_store(settings: Settings) -> BlobStore:
    if settings.storage_backend == "s3":
        # Imported here: boto3 takes noticeable time to import and the local default never needs it.
        from legalai.storage.s3 import S3BlobStore

        secret = settings.s3_secret_access_key
        sse = settings.s3_server_side_encryption
        return S3BlobStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            server_side_encryption=None if sse == "none" else sse,
            kms_key_id=settings.s3_kms_key_id,
            connect_timeout=settings.s3_connect_timeout_seconds,
            read_timeout=settings.s3_read_timeout_seconds,
            max_attempts=settings.s3_max_attempts,
        )
    return LocalBlobStore(settings.resolved_storage_path)
