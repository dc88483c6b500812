from __future__ import annotations

import pytest
from typer.testing import CliRunner

from legalai.settings import ConfigurationError, Settings


def test_local_defaults_are_valid_and_embedded(tmp_path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.problems() == []
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.effective_worker_mode == "inprocess"


def test_production_lists_every_problem_at_once() -> None:
    s = Settings(environment="production", cors_origins="*", api_processes=2)
    with pytest.raises(ConfigurationError) as info:
        s.validate_for_startup()
    text = str(info.value)
    for expected in ("PostgreSQL", "SECRET_KEY", "'*'", "local file storage", "REDIS_URL"):
        assert expected in text
    assert len(info.value.problems) == 5


def test_a_sound_production_configuration_passes() -> None:
    s = Settings(
        environment="production",
        database_url="postgresql+psycopg://app@db/legalai",
        secret_key="x" * 40,
        cors_origins="https://legal.example.com",
        storage_backend="s3",
        s3_bucket="docs",
        redis_url="redis://cache:6379/0",
    )
    assert s.problems() == []
    assert s.cors_origins == ["https://legal.example.com"]


def test_check_config_command_prints_the_same_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from legalai.cli import app

    monkeypatch.setenv("LEGALAI_ENVIRONMENT", "production")
    monkeypatch.setenv("LEGALAI_CORS_ORIGINS", "*")
    result = CliRunner().invoke(app, ["check-config"])
    assert result.exit_code == 1
    assert "NOT OK" in result.output and "CORS" in result.output and "PostgreSQL" in result.output

    monkeypatch.setenv("LEGALAI_ENVIRONMENT", "local")
    monkeypatch.delenv("LEGALAI_CORS_ORIGINS")
    result = CliRunner().invoke(app, ["check-config"])
    assert result.exit_code == 0 and "OK" in result.output


def test_service_refuses_to_start_in_unsafe_production() -> None:
    from legalai.app import create_app

    with pytest.raises(ConfigurationError):
        create_app(Settings(environment="production"))


def test_lease_must_outlast_the_extraction_timeout() -> None:
    s = Settings(job_lease_seconds=60, extraction_timeout_seconds=120)
    assert any("JOB_LEASE_SECONDS" in p for p in s.problems())
