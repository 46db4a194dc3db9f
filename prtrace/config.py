"""Configuration: flags > environment > ``config.toml`` > defaults.

One :class:`Settings` object serves the server, the worker, the recorder and
the CLI. Each field has one environment variable (``PRTRACE_<NAME>`` unless
listed in ``_ENV_NAMES``) and one key of the same name in
``$XDG_CONFIG_HOME/prtrace/config.toml``.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from prtrace.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"


class Settings(msgspec.Struct, kw_only=True):
    url: str = DEFAULT_URL
    """Where clients find the backend."""
    home: str = ""
    """Data directory; default ``$XDG_DATA_HOME/prtrace``."""
    api_token: str | None = None
    database_url: str = ""
    """SQLAlchemy URL; default SQLite in ``home``."""
    blob_url: str = ""
    """A folder, or ``s3://bucket[/prefix]``; default ``home/blobs``."""
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str | None = None
    s3_secure: bool | None = None
    docker_host: str | None = None
    judge_base_url: str | None = None
    judge_model: str | None = None
    openai_api_key: str | None = None
    # --- the LLM judge (qa/judge, docs/judge.md) ---
    judge_rubric: str = "default"
    """The rubric id used when a request names none."""
    judge_rubric_dir: str = ""
    """A folder of researchers' rubrics (``<id>.toml``), searched before the built-in ones."""
    judge_samples: int = 1
    judge_token_budget: int = 24_000
    """Most prompt tokens (estimated) a judgement may send; the trace is compacted to fit."""
    judge_max_tokens: int = 2000
    judge_timeout_seconds: float = 120.0
    judge_max_retries: int = 4
    judge_backoff_seconds: float = 1.0
    judge_prices: str = ""
    """Extra prices, USD per 1M tokens: ``model=input/output,…`` (see qa/judge/pricing.py)."""
    privacy: dict[str, Any] = msgspec.field(default_factory=dict)
    """The ``[privacy]`` table: redaction and recording rules (prtrace.redaction.config)."""
    qa_on_finalize: bool = True
    workers: int = 1
    """QA workers that ``prtrace serve`` embeds (0 for none)."""
    ingest_processes: int = -1
    """Processes that validate and redact uploaded batches beside the server
    (-1: one per core beyond the first; 0: in the server process)."""
    blob_threshold: int = 64 * 1024
    """Text fields larger than this many bytes are kept in the blob store."""
    log_level: str = "info"
    job_modules: str = ""
    """Comma-separated modules that register extra job handlers."""
    job_lease_seconds: float = 60.0
    """How long a worker holds a job without renewing before another may take it."""

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def api_token_file(self) -> Path:
        return self.home_path / "api_token"

    def client_token(self) -> str | None:
        """The API token a client should send: configured, else the server's file."""
        if self.api_token:
            return self.api_token
        try:
            return self.api_token_file.read_text().strip() or None
        except OSError:
            return None


_ENV_NAMES = {
    "docker_host": "DOCKER_HOST",
    "openai_api_key": "OPENAI_API_KEY",
}
_FIELDS = dict(Settings.__annotations__)


def env_name(field: str) -> str:
    return _ENV_NAMES.get(field, "PRTRACE_" + field.upper())


def config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "prtrace" / "config.toml"


def _default_home() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "prtrace")


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in Settings.__struct_fields__:
        raw = environ.get(env_name(field))
        if raw is not None and raw != "":
            values[field] = raw
    return values


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
"""What ``log_level`` may be (in either case): the levels Python's logging and uvicorn share."""


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge the four layers; ``overrides`` are the command-line flags.

    A bad ``config.toml`` or setting is a :class:`~prtrace.errors.ConfigError`.
    """
    environ = dict(os.environ) if environ is None else environ
    merged: dict[str, Any] = {}
    merged.update(_from_file(config_file()))
    merged.update(_from_env(environ))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        settings = msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    if settings.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"bad setting: log_level ({env_name('log_level')}) is {settings.log_level!r};"
            f" one of {', '.join(LOG_LEVELS)}"
        )
    if not settings.home:
        settings.home = _default_home()
    if not settings.database_url:
        settings.database_url = f"sqlite+aiosqlite:///{Path(settings.home) / 'prtrace.db'}"
    if not settings.blob_url:
        settings.blob_url = str(Path(settings.home) / "blobs")
    return settings


def new_token(prefix: str) -> str:
    """A random bearer token; the prefix says what it opens (``pta_``/``ptu_``)."""
    return prefix + secrets.token_urlsafe(32)
