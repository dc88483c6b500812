"""One typed settings object, read once from the environment (prefix ``LEGALAI_``) and passed down.

Library code never reads ``os.environ``; it receives a :class:`Settings`.
"""

from __future__ import annotations

import enum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from legalai.kit.db import DatabaseLimits

DEFAULT_SECRET = "change-me-insecure-default"  # noqa: S105 - the marker production refuses


class Environment(enum.StrEnum):
    local = "local"
    test = "test"
    staging = "staging"
    production = "production"


class ConfigurationError(Exception):
    """Raised when settings are unfit for the environment; lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


# ---- AI providers (issue 5) -----------------------------------------------------------------------


class AIProviderConfig(BaseModel):
    """One entry of ``LEGALAI_AI_PROVIDERS`` (a JSON list, in fallback order).

    ``kind``: ``openai`` (the OpenAI API), ``anthropic``, ``openai_compatible`` (Ollama, vLLM, a
    llama.cpp server... by ``base_url``) or ``offline`` (no network; extractive answers elsewhere).
    ``local`` says whether text sent to it stays on this machine: left unset, only ``offline`` and
    an ``openai_compatible`` server on a loopback address count as local. Prices are USD per
    million tokens. The key is a secret: never shown in logs, errors or ``repr``.
    """

    # Validation errors never echo the input: it may hold the API key.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    kind: Literal["openai", "anthropic", "openai_compatible", "offline"]
    model: str = Field(default="offline", min_length=1, max_length=200)
    base_url: str | None = None
    api_key: SecretStr | None = None
    local: bool | None = None
    embedding_model: str | None = None
    # "json_schema" (response_format with the schema), "json_object", or "prompt" (instructions only).
    json_mode: Literal["json_schema", "json_object", "prompt"] | None = None
    price_input_per_mtok: float = Field(default=0.0, ge=0)
    price_output_per_mtok: float = Field(default=0.0, ge=0)
    price_embedding_per_mtok: float = Field(default=0.0, ge=0)
    # A tokenizer.json (Hugging Face `tokenizers`) for exact counts; ~4 characters a token otherwise.
    tokenizer_path: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value


def _default_ai_providers() -> list[AIProviderConfig]:
    return [AIProviderConfig(name="offline", kind="offline", model="offline")]


def ai_provider_problems(providers: list[AIProviderConfig]) -> list[str]:
    found: list[str] = []
    names = [p.name for p in providers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        found.append(f"LEGALAI_AI_PROVIDERS names must be unique (repeated: {', '.join(duplicates)})")
    for p in providers:
        if p.kind == "openai_compatible" and not p.base_url:
            found.append(f"LEGALAI_AI_PROVIDERS: provider {p.name!r} (openai_compatible) needs a base_url")
    return found


# ---- end of AI providers ---------------------------------------------------------------------------


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error must not echo a value, which may be a key (AI providers).
    model_config = SettingsConfigDict(
        env_prefix="LEGALAI_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = Environment.local
    data_dir: Path = Path("var")
    database_url: str = ""
    # Connections per process (pool + overflow): with several API replicas and workers on
    # PostgreSQL, replicas x (pool + overflow) must stay under the server's max_connections.
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    # Bounded waits: a request never waits longer than these for the database (then 503).
    database_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    database_statement_timeout_ms: int = Field(default=30_000, ge=0)  # PostgreSQL; 0 = none
    database_lock_timeout_ms: int = Field(default=5_000, ge=0)  # PostgreSQL
    database_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)  # PostgreSQL
    database_connect_timeout_seconds: int = Field(default=5, ge=1)
    database_busy_timeout_ms: int = Field(default=5_000, ge=0)  # SQLite: wait for the write lock

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    host: str = "127.0.0.1"
    port: int = 8000
    # Load shedding: requests handled at once per API process; more wait at most
    # request_queue_seconds for a slot, then get 503 with Retry-After (never a long hang).
    # Unset: derived from the database pool (a request holds at most one connection).
    max_concurrent_requests: int | None = Field(default=None, ge=1)
    request_queue_seconds: float = Field(default=2.0, ge=0)
    # Seconds a stopping API process keeps serving requests already in flight.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Number of API processes. More than one requires Redis (shared queue, shared state).
    api_processes: int = 1

    # Storage
    storage_backend: Literal["local", "s3"] = "local"
    storage_path: Path | None = None
    allow_local_storage_in_production: bool = False
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_server_side_encryption: Literal["AES256", "aws:kms", "none"] = "AES256"
    s3_kms_key_id: str | None = None
    # Bounded S3 calls: seconds to connect, seconds to wait for each read, and attempts per call
    # (the first included; botocore's "standard" retries with backoff). A frozen or unreachable S3
    # fails a call after about attempts x timeout: the API answers 503, a job retries later.
    s3_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    s3_read_timeout_seconds: float = Field(default=10.0, gt=0)
    s3_max_attempts: int = Field(default=3, ge=1, le=10)

    # Queue
    redis_url: str | None = None
    # "inprocess": the API process runs the worker threads (only without Redis, or by choice).
    # "external": separate `legalai worker` processes consume the Redis queue.
    worker_mode: Literal["inprocess", "external"] | None = None
    worker_threads: int = 2
    job_max_retries: int = 5
    job_min_backoff_ms: int = 1_000
    job_max_backoff_ms: int = 300_000
    # How long a claimed document stays owned by one worker before another may take it over;
    # longer than the extraction timeout, so a slow but live extraction is never taken over.
    job_lease_seconds: int = 600
    redis_heartbeat_timeout_ms: int = 60_000
    # Out of 1,000,000 broker commands, how many also requeue messages of dead workers.
    redis_maintenance_chance: int = 1000
    redis_namespace: str = "legalai"
    # How often each worker re-enqueues versions the database says are unfinished (lost messages).
    sweep_interval_seconds: float = 60.0
    # How long queued work (a version, a follow-up stage, a summary) may wait for its message before
    # the sweeper sends it again; unset means the job lease. Shorter only adds duplicate messages
    # under a backlog (harmless, but they take queue room).
    sweep_grace_seconds: float | None = Field(default=None, ge=0)

    # Audit log: requests insert events "pending"; a background chainer in every API and worker
    # process links them into each organization's hash chain this often, this many per transaction.
    audit_chain_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    audit_chain_batch_size: int = Field(default=500, ge=1, le=10_000)
    # `legalai audit verify` warns (and exits 3) when an event has been pending longer than this:
    # the chainer is not running.
    audit_pending_alert_seconds: float = Field(default=60.0, gt=0)
    # A document whose job keeps failing because the database, Redis or S3 is down is not marked
    # failed when its retries are spent (the sweeper sends it again) until this many seconds after
    # its first such failure; 0 = fail as soon as the retries are spent.
    job_outage_grace_seconds: float = Field(default=900.0, ge=0)

    # Uploads and archives
    max_upload_bytes: int = 200 * 1024 * 1024
    max_request_bytes: int = 2 * 1024 * 1024 * 1024
    # Any request body that is not multipart (JSON, forms): far more than any of them needs.
    max_json_bytes: int = 1024 * 1024
    max_files_per_upload: int = 1000
    max_archive_entries: int = 10_000
    max_archive_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_archive_ratio: int = 200

    # Extraction sandbox
    extraction_timeout_seconds: float = 300.0
    extraction_cpu_seconds: int = 240
    extraction_memory_mb: int = 2048
    ocr_languages: str = "eng"
    ocr_dpi: int = 300
    # A PDF page with less text than this (characters) is treated as a scan and OCR'd.
    ocr_min_chars_per_page: int = 16

    # Chunking (characters; ~1,200 chars is ~300 tokens: good for search and for LLM context)
    chunk_chars: int = 1200
    chunk_overlap_chars: int = 150
    # Retrieval: embed chunks in the embedding stage after processing (else on first question), how
    # many chunk vectors each process keeps in memory (256 floats each), and how deep each retriever
    # looks before fusion.
    retrieval_embed_in_pipeline: bool = True
    retrieval_cache_vectors: int = Field(default=400_000, ge=1000)
    retrieval_pool: int = Field(default=50, ge=5, le=1000)
    # Re-rank candidates with the clause model when a question is about a CUAD clause category.
    retrieval_clause_reranking: bool = True

    # Analysis (key terms, clauses, citations, personal data, deadlines, playbook risks)
    analysis_enabled: bool = True
    # Longer documents are analyzed up to this many characters (the analysis says so).
    analysis_max_chars: int = 8_000_000
    # Compute analyses in a child process, off the serving process's interpreter lock. Default
    # (unset): on where the worker runs inside the API process (the embedded default), where
    # analysis in worker threads slowed every request; a standalone `legalai worker` analyzes in
    # its own threads.
    analysis_isolated: bool | None = None

    # Accounts and sessions
    session_idle_minutes: int = 30
    # How long a request's principal (role, visible matters) may be reused from memory at most;
    # any change to access commits a version bump that invalidates it at once (accounts.access).
    # 0 resolves the principal from the database on every request.
    principal_cache_seconds: float = Field(default=60.0, ge=0)
    session_absolute_hours: int = 12
    # Secure cookies need HTTPS; None means "on except in the local and test environments".
    session_cookie_secure: bool | None = None
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    setup_link_hours: int = 24
    # Public base URL used in printed links (the set-up link); defaults to http://host:port.
    public_url: str | None = None
    # Optional single sign-on with OpenID Connect (discovery at <issuer>/.well-known/openid-configuration).
    # Register <public_url>/login/oidc/callback as the redirect URI at the provider.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_display_name: str = "single sign-on"
    oidc_scopes: str = "openid email profile"

    # Rate limits in `limits` notation ("10/minute"); counted in Redis when LEGALAI_REDIS_URL is set.
    rate_limit_enabled: bool = True
    # Failed sign-ins per address (successful ones cost the address nothing); every attempt per account.
    rate_limit_login_per_ip: str = "10/minute"
    rate_limit_login_per_user: str = "5/minute"
    rate_limit_upload: str = "60/minute"
    rate_limit_search: str = "120/minute"
    rate_limit_ai: str = "30/minute"
    rate_limit_default: str = "600/minute"
    # Per-address limit = per-person limit x this: 100 people behind one NAT address, each using half
    # their own budget at the same moment, are not throttled; the per-person limits are the control.
    rate_limit_shared_ip_factor: int = Field(default=50, ge=1)
    # Per-organization quotas; 0 = unlimited.
    quota_storage_bytes: int = 0
    quota_documents_per_day: int = 0

    # ---- AI providers (issue 5): see AIProviderConfig; the offline provider alone by default ----
    ai_providers: list[AIProviderConfig] = Field(default_factory=_default_ai_providers)
    ai_timeout_seconds: float = Field(default=60.0, gt=0)
    ai_max_attempts: int = Field(default=3, ge=1, le=10)  # per provider, first attempt included
    ai_backoff_base_seconds: float = Field(default=0.5, ge=0)
    ai_backoff_max_seconds: float = Field(default=20.0, ge=0)
    ai_retry_after_max_seconds: float = Field(default=60.0, ge=0)
    ai_breaker_failures: int = Field(default=5, ge=1)
    ai_breaker_window_seconds: float = Field(default=60.0, gt=0)
    ai_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    ai_cache_ttl_seconds: int = Field(default=86_400, ge=0)  # 0 turns the response cache off
    ai_default_org_token_budget: int | None = Field(default=None, ge=0)  # None = unlimited
    # Background AI work (document summaries) while providers are down: retried with backoff.
    ai_job_max_retries: int = Field(default=40, ge=0)
    ai_job_min_backoff_ms: int = Field(default=5_000, ge=1)
    ai_job_max_backoff_ms: int = Field(default=600_000, ge=1)
    # ---- end of AI providers ----

    # Observability
    log_level: str = "INFO"
    log_json: bool = True
    sentry_dsn: SecretStr | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator(
        "rate_limit_login_per_ip",
        "rate_limit_login_per_user",
        "rate_limit_upload",
        "rate_limit_search",
        "rate_limit_ai",
        "rate_limit_default",
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # ValueError names the bad string
        return value

    # ---- derived values -------------------------------------------------------------------------

    def database_limits(self) -> DatabaseLimits:
        return DatabaseLimits(
            pool_size=self.database_pool_size,
            max_overflow=self.database_max_overflow,
            pool_timeout=self.database_pool_timeout_seconds,
            statement_timeout_ms=self.database_statement_timeout_ms,
            lock_timeout_ms=self.database_lock_timeout_ms,
            idle_in_transaction_timeout_ms=self.database_idle_in_transaction_timeout_ms,
            connect_timeout_seconds=self.database_connect_timeout_seconds,
            busy_timeout_ms=self.database_busy_timeout_ms,
        )

    @property
    def effective_analysis_isolated(self) -> bool:
        if self.analysis_isolated is not None:
            return self.analysis_isolated
        return self.effective_worker_mode == "inprocess"

    @property
    def effective_max_concurrent_requests(self) -> int:
        """Requests in flight per process: what the pool can serve while leaving connections for
        the in-process worker threads, the audit chainer and the sweeper."""
        if self.max_concurrent_requests is not None:
            return self.max_concurrent_requests
        connections = self.database_pool_size + self.database_max_overflow
        reserved = (self.worker_threads if self.effective_worker_mode == "inprocess" else 0) + 2
        return max(2, connections - reserved)

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'legalai.db').resolve()}"

    @cached_property
    def resolved_storage_path(self) -> Path:
        return (self.storage_path or self.data_dir / "blobs").resolve()

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment not in (Environment.local, Environment.test)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def effective_worker_mode(self) -> Literal["inprocess", "external"]:
        if self.worker_mode is not None:
            return self.worker_mode
        return "external" if self.redis_url else "inprocess"

    @property
    def effective_sweep_grace_seconds(self) -> float:
        """How long queued work waits before the sweeper sends it again."""
        if self.sweep_grace_seconds is not None:
            return self.sweep_grace_seconds
        return float(self.job_lease_seconds)

    def problems(self) -> list[str]:
        """Everything that makes these settings unfit for their environment."""
        found: list[str] = []
        multi_process = self.api_processes > 1 or self.effective_worker_mode == "external"
        if multi_process and not self.redis_url:
            found.append(
                "LEGALAI_REDIS_URL is required when running more than one process "
                "(api_processes > 1 or worker_mode=external)"
            )
        if self.storage_backend == "s3" and not self.s3_bucket:
            found.append("LEGALAI_S3_BUCKET is required when LEGALAI_STORAGE_BACKEND=s3")
        if self.job_lease_seconds <= self.extraction_timeout_seconds:
            found.append("LEGALAI_JOB_LEASE_SECONDS must be longer than LEGALAI_EXTRACTION_TIMEOUT_SECONDS")
        if self.chunk_overlap_chars >= self.chunk_chars:
            found.append("LEGALAI_CHUNK_OVERLAP_CHARS must be smaller than LEGALAI_CHUNK_CHARS")
        if self.oidc_issuer and not (
            self.oidc_client_id and self.oidc_client_secret and self.oidc_client_secret.get_secret_value()
        ):
            found.append(
                "LEGALAI_OIDC_CLIENT_ID and LEGALAI_OIDC_CLIENT_SECRET are required with LEGALAI_OIDC_ISSUER"
            )
        if self.oidc_issuer and "openid" not in self.oidc_scopes.split():
            found.append("LEGALAI_OIDC_SCOPES must include 'openid'")
        found.extend(ai_provider_problems(self.ai_providers))
        if self.environment is not Environment.production:
            return found
        if self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
            found.append("LEGALAI_OIDC_ISSUER must be an https:// URL in production")
        if self.oidc_issuer and not (self.public_url or "").startswith("https://"):
            found.append("LEGALAI_PUBLIC_URL must be the https:// address users reach when OIDC is on")
        if not self.resolved_database_url.startswith(("postgresql", "postgres")):
            found.append("LEGALAI_DATABASE_URL must point to PostgreSQL in production")
        secret = self.secret_key.get_secret_value()
        if not secret or secret == DEFAULT_SECRET or len(secret) < 32:
            found.append("LEGALAI_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.storage_backend == "s3" and self.s3_access_key_id and not self.s3_secret_access_key:
            found.append("LEGALAI_S3_SECRET_ACCESS_KEY is missing while LEGALAI_S3_ACCESS_KEY_ID is set")
        if "*" in self.cors_origins:
            found.append("LEGALAI_CORS_ORIGINS must list explicit origins, not '*', in production")
        if self.storage_backend == "local" and not self.allow_local_storage_in_production:
            found.append(
                "local file storage in production needs LEGALAI_ALLOW_LOCAL_STORAGE_IN_PRODUCTION=true "
                "(or use LEGALAI_STORAGE_BACKEND=s3)"
            )
        return found

    def validate_for_startup(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigurationError(problems)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
