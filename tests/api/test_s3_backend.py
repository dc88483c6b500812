"""The whole pipeline with originals in S3 (a real S3 HTTP server on loopback, moto's server mode)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from fastapi.testclient import TestClient

from legalai.app import create_app
from legalai.storage.s3 import S3BlobStore
from tests.conftest import authorize, make_settings, upload
from tests.fixtures.docs import CONTRACT, make_pdf


def test_ingest_search_download_and_delete_with_s3(
    tmp_path: Path, database_url: str, s3_server: str, wait_ready: Callable[..., list[dict[str, Any]]]
) -> None:
    bucket = f"legalai-{uuid.uuid4().hex[:10]}"
    creds = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}
    S3BlobStore(
        bucket, endpoint_url=s3_server, access_key_id="testing", secret_access_key="testing"
    ).ensure_bucket()
    settings = make_settings(
        tmp_path, database_url, storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=s3_server, **creds
    )
    pdf = make_pdf([CONTRACT])
    with TestClient(create_app(settings)) as client:
        authorize(client)
        ready = client.get("/ready").json()
        assert ready["checks"]["storage"]["status"] == "ok"
        matter = client.post("/api/v1/matters", json={"name": "S3"}).json()["id"]
        [item] = upload(client, matter, ("msa.pdf", pdf))["accepted"]
        [doc] = wait_ready(client, [item["document_id"]])
        assert doc["status"] == "ready"
        assert client.get(f"/api/v1/documents/{doc['id']}/original").content == pdf
        assert client.get(f"/api/v1/matters/{matter}/search", params={"q": "Delaware"}).json()["hits"]

        s3 = boto3.client(
            "s3",
            endpoint_url=s3_server,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        [obj] = s3.list_objects_v2(Bucket=bucket)["Contents"]
        assert s3.head_object(Bucket=bucket, Key=obj["Key"])["ServerSideEncryption"] == "AES256"

        # A tampered object is detected on read instead of being served.
        s3.put_object(Bucket=bucket, Key=obj["Key"], Body=b"%PDF-1.4 tampered")
        res = client.get(f"/api/v1/documents/{doc['id']}/original")
        assert res.status_code == 500
        assert res.json()["title"] == "Integrity check failed"
        assert b"tampered" not in res.content

        assert client.delete(f"/api/v1/documents/{doc['id']}").status_code == 204
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_ready_reports_unreachable_storage(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path,
        database_url,
        storage_backend="s3",
        s3_bucket="x",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_access_key_id="a",
        s3_secret_access_key="b",
    )
    with TestClient(create_app(settings)) as client:
        authorize(client)
        res = client.get("/ready")
        assert res.status_code == 503
        body = res.json()
        assert body["checks"]["storage"]["status"] == "error"
        assert body["checks"]["database"]["status"] == "ok"
        assert (
            "Connect" in body["checks"]["storage"]["detail"]
            or "connect" in body["checks"]["storage"]["detail"]
        )
