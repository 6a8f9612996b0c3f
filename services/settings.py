"""One typed settings object, read from HAZARDTRACK_* environment variables."""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAZARDTRACK_", extra="ignore")

    env: str = "development"
    database_url: str | None = None  # unset: embedded PostgreSQL under data_dir
    broker_url: str | None = None  # unset: a filesystem broker under data_dir
    secret_key: str = DEFAULT_SECRET
    data_dir: Path = Path(".data")
    timezone: str = "Asia/Shanghai"
    report_deadline_day: int = 15
    access_token_minutes: int = 30
    refresh_token_days: int = 30
    photo_max_bytes: int = 10 * 1024 * 1024
    body_max_bytes: int = 20 * 1024 * 1024
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory), tests lower them.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # The proxies whose X-Forwarded-For the API believes (uvicorn's forwarded_allow_ips): the
    # login limit per address counts the client behind them, not the proxy, which all clients
    # of an ingress share (20 failures from anyone refused everyone's logins for the window).
    forwarded_allow_ips: str = "127.0.0.1"
    # How long the API waits before the debounced recompute runs; writes within it share one task.
    recompute_debounce_seconds: float = 0.3
    # PostgreSQL work_mem for the figures' statements (per transaction): a county's grouping
    # fits in memory instead of spilling to disk.
    recompute_work_mem: str = "64MB"
    # How long a request may wait for its turn at the database before the API answers 503
    # (overloaded, retry): a quick refusal that a phone retries beats an answer after its own
    # timeout, and keeps the wait of the requests that are served short.
    admission_wait_seconds: float = 2.0
    # FastAPI's own OpenTelemetry spans and metrics. Off: Prometheus (/metrics) and the JSON
    # access log are this service's observability, and with no OTel SDK configured FastAPI
    # still asked the global providers on every request (~6 % of a phone's POST in the API).
    otel: bool = False

    @field_validator("env")
    @classmethod
    def _known_env(cls, v: str) -> str:
        if v not in ("development", "production", "test"):
            raise ValueError("must be development, production or test")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone
        return v

    @field_validator("report_deadline_day")
    @classmethod
    def _day_in_month(cls, v: int) -> int:
        if not 1 <= v <= 28:
            raise ValueError("must be a day from 1 to 28")
        return v

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env == "production" and (
            not self.secret_key or self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "HAZARDTRACK_SECRET_KEY must be set to a random value of 32+ characters in production"
            )
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        # Once per Settings: the rules of every item of a /sync batch ask for it.
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
