"""The service's only configuration object (S13).

Every setting comes from the environment or a git-ignored `.env` file; `.env.example` lists them
all. Nothing else in the code reads `os.environ`. Settings are built once per process, handed to
`create_app` (or the worker), and passed down from there; request handlers that need a value
take `SettingsDep`.
"""

import re
import secrets
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from fastapi import Depends, Request
from pydantic import (
{%- if cookiecutter.include_celery == 'y' and cookiecutter.celery_broker == 'rabbitmq' %}
    AmqpDsn,
{%- endif %}
    Field,
    HttpUrl,
    PostgresDsn,
    RedisDsn,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_KEY_BYTES = 32
# A browser origin: scheme, host and optional port; no path, not even a trailing slash.
_ORIGIN = re.compile(r"^https?://[^/\s]+$")
# "*." and a domain, no other "*": the only wildcard Starlette's trusted-host check understands.
_HOST_WILDCARD = re.compile(r"^\*\.[^*]+$")

PositiveSeconds = Annotated[float, Field(gt=0, le=3600)]


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class Settings(BaseSettings):
    # An empty value (`LOG_FORMAT=`) means "use the default", as in .env.example.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    environment: Environment = Environment.LOCAL
    app_name: str = "{{ cookiecutter.project_name }}"
    # Required (32+ bytes) outside local/test; local and test get a random one per process.
    secret_key: SecretStr | None = None
    # The environments that serve /docs, /redoc and /openapi.json. Anything else gets 404.
    docs_environments: frozenset[Environment] = frozenset({Environment.LOCAL, Environment.STAGING})

    database_url: PostgresDsn = PostgresDsn(
        "postgresql://postgres@127.0.0.1:5432/{{ cookiecutter.project_slug }}",
    )
    db_pool_min_size: int = Field(default=2, ge=0, le=100)
    db_pool_max_size: int = Field(default=10, ge=1, le=100)
    db_connect_timeout: PositiveSeconds = 5.0
    db_acquire_timeout: PositiveSeconds = 5.0
    db_command_timeout: PositiveSeconds = 30.0

    redis_url: RedisDsn = RedisDsn("redis://127.0.0.1:6379/0")
    redis_timeout: PositiveSeconds = 5.0
{%- if cookiecutter.include_celery == 'y' %}
{%- if cookiecutter.celery_broker == 'redis' %}

    celery_broker_url: RedisDsn = RedisDsn("redis://127.0.0.1:6379/1")
    # Seconds before Redis hands an unacknowledged task to another worker: above the longest task.
    celery_visibility_timeout: int = Field(default=3600, ge=1)
{%- else %}

    celery_broker_url: AmqpDsn = AmqpDsn("amqp://guest:guest@127.0.0.1:5672//")
{%- endif %}
    celery_broker_timeout: PositiveSeconds = 5.0
    celery_queue: str = "{{ cookiecutter.project_slug }}.jobs"
{%- endif %}

    # Sessions (README, "Authentication"). An access token is short-lived and checked against
    # its session on every request; the refresh token keeps the session going.
    access_token_ttl_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A session ends when its refresh token has not been used for this long.
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    # Sessions one user may have at once; a login beyond it ends the least recently used one.
    max_sessions_per_user: int = Field(default=20, ge=1, le=1000)
    # Deliver the refresh token in an HttpOnly cookie (browser clients) instead of the body.
    refresh_token_cookie: bool = False
    # Emailed links (README, "Authentication"): the front end's pages `/verify-email` and
    # `/reset-password` take the token from the link's query and POST it to the API.
    frontend_url: HttpUrl = HttpUrl("http://127.0.0.1:3000")
    # Where clients reach this API, the schema's `servers` entry (generated clients default to
    # it). Unset: "/", the host that served the schema.
    api_url: HttpUrl | None = None
    password_reset_ttl_minutes: int = Field(default=30, ge=5, le=24 * 60)
    email_verification_ttl_hours: int = Field(default=48, ge=1, le=30 * 24)
    # The zxcvbn score (0-4) a new password needs, the one POST /auth/password-strength shows; 0
    # checks length only.
    password_min_score: int = Field(default=3, ge=0, le=4)
    # false: unverified accounts log in (`emailVerified` says so); true: 403 until verified.
    login_requires_verified_email: bool = False
    # Links asked for per window (reset and verification together), per client address and per
    # account; beyond them 429, whether or not the account exists.
    email_link_max_per_address: int = Field(default=10, ge=1, le=100_000)
    email_link_max_per_account: int = Field(default=3, ge=1, le=1000)
    email_link_rate_limit_window_seconds: int = Field(default=3600, ge=1, le=86_400)
    # The `iss` and `aud` of every access token, checked on every request.
    token_issuer: str = Field(default="{{ cookiecutter.project_slug }}", min_length=1)
    token_audience: str = Field(default="{{ cookiecutter.project_slug }}", min_length=1)

    # Transactional email through the provider's HTTP API. Unset: no email is sent (logged).
    email_api_url: HttpUrl | None = None
    email_api_key: SecretStr | None = None
    email_sender: str = "{{ cookiecutter.project_name }} <no-reply@example.com>"

    http_connect_timeout: PositiveSeconds = 5.0
    http_timeout: PositiveSeconds = 10.0
    http_max_connections: int = Field(default=100, ge=1)
    http_max_keepalive_connections: int = Field(default=20, ge=0)

    # Threads for `def` routes, `def` dependencies and run_in_threadpool (anyio's default is 40).
    thread_pool_size: int = Field(default=40, ge=1, le=1000)
    # Processes for short CPU-bound work.
    process_pool_size: int = Field(default=2, ge=1, le=64)
    # How many nice steps below the API's event loop heavy work runs: the process pool's
    # workers{% if cookiecutter.include_celery == 'y' %} and the Celery worker{% endif %}. 0 runs it at the same priority (README, "CPU priority").
    background_niceness: int = Field(default=10, ge=0, le=19)

    health_check_timeout: PositiveSeconds = 2.0

    # Prometheus metrics and Sentry (README, "Metrics" and "Error reporting (Sentry)").
    metrics_enabled: bool = True
{%- if cookiecutter.include_celery == 'y' %}
    # Port the worker's main process serves its task counters on; 0 serves none.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
{%- endif %}
    # Unset: Sentry is never initialised and nothing is sent anywhere.
    sentry_dsn: HttpUrl | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # None picks by environment: readable console lines locally, JSON lines everywhere else.
    log_format: Literal["console", "json"] | None = None

    # --- Production hardening (README, "Production checklist") ---
    # FastAPI's debug mode; refused in production.
    debug: bool = False
    # Production in DOCS_ENVIRONMENTS is refused unless this says it is meant.
    allow_docs_in_production: bool = False
    # Browser origins allowed to call the API (CORS). Empty: no CORS headers at all.
    cors_origins: list[str] = Field(default_factory=list)
    # Host headers the service answers; others get 400. Unset: any host in local and test,
    # required in staging and production. "*" is refused in production.
    trusted_hosts: list[str] | None = None
    # Brute-force protection on POST /auth/token, counted in Redis per window: attempts on one
    # account from one address since that address last logged in to it, failed attempts on one
    # account from all addresses together (a much higher bar, so that an attacker elsewhere
    # cannot lock the owner out), and all attempts per client address.
    login_max_attempts_per_account_and_address: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_account: int = Field(default=100, ge=1, le=1_000_000)
    login_max_attempts_per_address: int = Field(default=50, ge=1, le=100_000)
    login_rate_limit_window_seconds: int = Field(default=900, ge=1, le=86_400)
    # Sign-ups per window, per client address and in all: each costs an Argon2 hash.
    signup_max_per_address: int = Field(default=10, ge=1, le=100_000)
    signup_max_overall: int = Field(default=1000, ge=1, le=1_000_000)
    signup_rate_limit_window_seconds: int = Field(default=3600, ge=1, le=86_400)
    # Prefix of every rate-limit key in Redis, so services (and test runs) sharing one never mix.
    rate_limit_key_prefix: str = "{{ cookiecutter.project_slug }}:ratelimit"

    # --- Abuse limits (README, "Production checklist" and "Failure behaviour") ---
    # Largest request body accepted (413 beyond it), and how long a body may take to arrive.
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    request_body_timeout: PositiveSeconds = 30.0
    # Argon2 hashes at once (each takes 64 MiB), and how long a sign-up or login waits for a
    # slot before it is answered 503.
    password_hash_concurrency: int = Field(default=4, ge=1, le=64)
    password_hash_wait_seconds: PositiveSeconds = 5.0
    # Argon2id's cost: argon2-cffi's defaults, RFC 9106's second recommendation (64 MiB, 3
    # passes). The floor is OWASP's least (19 MiB, 2 passes). Each hash takes this memory.
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=19 * 1024, le=1024 * 1024)
    password_hash_time_cost: int = Field(default=3, ge=2, le=20)
    # Calls waiting for or running in the process pool (503 beyond it), how long one may take,
    # and how many of them one user may have (429 beyond it).
    process_pool_max_pending: int = Field(default=8, ge=1, le=10_000)
    process_pool_timeout: PositiveSeconds = 10.0
    process_pool_max_per_caller: int = Field(default=2, ge=1, le=10_000)
{%- if cookiecutter.include_celery == 'y' %}
    # Jobs a user may have queued or running at once (429 beyond it), runs a job gets before it
    # is failed (a job that kills its worker is not retried forever), and the memory a worker
    # process may use.
    jobs_max_active_per_user: int = Field(default=3, ge=1, le=1_000_000)
    job_max_attempts: int = Field(default=3, ge=1, le=100)
    worker_memory_limit_mb: int = Field(default=768, ge=64, le=1_048_576)
{%- endif %}
    # --- end of production hardening and abuse limits ---

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.db_pool_min_size > self.db_pool_max_size:
            msg = "DB_POOL_MIN_SIZE must not be larger than DB_POOL_MAX_SIZE"
            raise ValueError(msg)
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if self.environment in (Environment.LOCAL, Environment.TEST):
            if not key:
                self.secret_key = SecretStr(secrets.token_urlsafe(MIN_SECRET_KEY_BYTES))
        elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
            problem = "is missing" if not key else f"is only {len(key.encode())} bytes"
            msg = (
                f"SECRET_KEY {problem}; {self.environment.value} needs at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes. Generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_hardening(self) -> Self:
        bad_origins = [o for o in self.cors_origins if o != "*" and not _ORIGIN.match(o)]
        if bad_origins:
            msg = (
                f"CORS_ORIGINS entries must be origins like https://app.example.com (scheme and "
                f"host, no path or trailing slash); got {bad_origins}"
            )
            raise ValueError(msg)
        bad_hosts = [
            h
            for h in self.trusted_hosts or []
            if "*" in h and h != "*" and not _HOST_WILDCARD.match(h)
        ]
        if bad_hosts:
            msg = (
                "TRUSTED_HOSTS entries with a wildcard must look like '*.example.com' (every "
                f"subdomain of one domain); got {bad_hosts}"
            )
            raise ValueError(msg)
        if not self.trusted_hosts:
            if self.environment not in (Environment.LOCAL, Environment.TEST):
                msg = (
                    f"TRUSTED_HOSTS is required in {self.environment.value}: a JSON list of the "
                    'host names this service answers to, e.g. ["api.example.com"]'
                )
                raise ValueError(msg)
            self.trusted_hosts = ["*"]
        if self.environment == Environment.PRODUCTION:
            problems = self._production_problems()
            if problems:
                msg = "Refusing to run in production: " + "; ".join(problems)
                raise ValueError(msg)
        return self

    def _production_problems(self) -> list[str]:
        problems = []
        if self.debug:
            problems.append("DEBUG=true (debug mode is for local development)")
        if Environment.PRODUCTION in self.docs_environments and not self.allow_docs_in_production:
            problems.append(
                "DOCS_ENVIRONMENTS includes production, which publishes /docs, /redoc and "
                "/openapi.json (set ALLOW_DOCS_IN_PRODUCTION=true if that is intended)"
            )
        if "*" in (self.trusted_hosts or []):
            problems.append('TRUSTED_HOSTS contains "*" (list the real host names)')
        if "*" in self.cors_origins:
            problems.append('CORS_ORIGINS contains "*" (list the exact origins allowed)')
        return problems

    @property
    def signing_key(self) -> str:
        """SECRET_KEY as text; validation guarantees there is one."""
        if self.secret_key is None:
            msg = "Settings were built without validation"
            raise RuntimeError(msg)
        return self.secret_key.get_secret_value()

    @property
    def access_token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_token_ttl_minutes)

    @property
    def refresh_token_lifetime(self) -> timedelta:
        return timedelta(days=self.refresh_token_ttl_days)

    @property
    def password_reset_lifetime(self) -> timedelta:
        return timedelta(minutes=self.password_reset_ttl_minutes)

    @property
    def email_verification_lifetime(self) -> timedelta:
        return timedelta(hours=self.email_verification_ttl_hours)

    @property
    def docs_enabled(self) -> bool:
        return self.environment in self.docs_environments

    @property
    def effective_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "console" if self.environment == Environment.LOCAL else "json"


async def get_settings(request: Request) -> Settings:
    # `create_app` keeps the Settings it was given on the app; this is the one reader.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
