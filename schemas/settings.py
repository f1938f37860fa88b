"""One place for the settings that swap demo, test and production without touching the flows:
every ``DVSYNC_*`` variable is read here and nowhere else.

Every setting has an environment variable (the deployments' workers are configured through
these alone); command-line options and flow parameters override them. A bad value is a usage
error (exit 2) naming the variable, raised before any Prefect server or flow starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import UsageError

# Prefect must be quiet and offline-safe before it is imported anywhere (stack-notes.md).
_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
}

# The settings a deployment's worker reads (README "Deploy with Prefect", docs/contract.md §5).
ENV_CENTRAL_URL = "DVSYNC_CENTRAL_URL"
ENV_CENTRAL_SECRET = "DVSYNC_CENTRAL_SECRET"
ENV_CENTRAL_PASSWORD = "DVSYNC_CENTRAL_PASSWORD"
ENV_RESULTS_PASSWORD = "DVSYNC_RESULTS_PASSWORD"

DEFAULT_CHUNK_SIZE = 100_000
DEFAULT_PARTITION_MEMBERS = 250_000


def prefect_defaults() -> None:
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _int(env: dict, name: str, default: int, minimum: int = 1) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(
            f"{name}={raw[:40]!r} không phải số nguyên: đặt {name} là một số (ví dụ {default})"
        ) from None
    if value < minimum:
        raise UsageError(f"{name}={value} phải từ {minimum} trở lên")
    return value


def _float(env: dict, name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(
            f"{name}={raw[:40]!r} không phải số: đặt {name} là một số (ví dụ {default})"
        ) from None
    if value < 0:
        raise UsageError(f"{name}={value} không được âm")
    return value


def _flag(env: dict, name: str, default: bool = False) -> bool:
    raw = (env.get(name) or "").strip().lower()
    return default if not raw else raw not in ("0", "false", "no", "off")


def _path(env: dict, name: str) -> Path | None:
    raw = (env.get(name) or "").strip()
    return Path(raw) if raw else None


@dataclass(frozen=True)
class Settings:
    home: Path  # DVSYNC_HOME: cache of the bundled demo data
    central_url: str | None  # DVSYNC_CENTRAL_URL
    central_secret: str | None  # DVSYNC_CENTRAL_SECRET: name of a Prefect Secret block holding the URL
    submissions: Path | None  # DVSYNC_SUBMISSIONS: the cells' workbook folder
    out: Path | None  # DVSYNC_OUT (default ./dvsync-out)
    results_url: str | None  # DVSYNC_RESULTS_URL (default: SQLite in the output folder)
    mapping: Path | None  # DVSYNC_MAPPING: YAML mapping of the central tables and columns
    responses: Path | None  # DVSYNC_RESPONSES: the committees' returned workbooks
    workers: int  # DVSYNC_WORKERS: processes for workbook parsing and writing
    demo_members: int  # DVSYNC_DEMO_MEMBERS: size of the bundled demo data
    dask_address: str | None  # DVSYNC_DASK_ADDRESS: run tasks on an existing Dask cluster
    work_dir: Path | None  # DVSYNC_WORK_DIR: where a run keeps its partitions' files (default: out)
    central_retries: int = (
        3  # DVSYNC_CENTRAL_RETRIES: attempts after a connection fault (the one retry layer)
    )
    central_retry_delay: float = 2.0  # DVSYNC_CENTRAL_RETRY_DELAY: first wait, doubling
    results_retries: int = 3  # DVSYNC_RESULTS_RETRIES: the results database's connection retries
    lock_wait: float = 60.0  # DVSYNC_LOCK_WAIT: seconds a run waits for another run's lock
    workbook_memory_mb: int = 2048  # DVSYNC_WORKBOOK_MEMORY_MB: a workbook worker's memory above its parent's
    sqlite_arrow: bool = True  # DVSYNC_SQLITE_ARROW=0: read a SQLite central database through SQLAlchemy
    debug: bool = False  # DVSYNC_DEBUG=1: keep tracebacks (IT staff)
    no_watchdog: bool = False  # DVSYNC_NO_WATCHDOG=1: no watchdog process (benchmarks)
    fault_at: str | None = None  # DVSYNC_FAULT_AT: the fault suite's kill point (tests only)
    # Passwords, when the URLs carry none (the CLI moves a password given in an option here): never printed.
    central_password: str | None = field(default=None, repr=False)  # DVSYNC_CENTRAL_PASSWORD
    results_password: str | None = field(default=None, repr=False)  # DVSYNC_RESULTS_PASSWORD

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            home=_path(env, "DVSYNC_HOME") or Path.home() / ".cache" / "dvsync",
            central_url=(env.get(ENV_CENTRAL_URL) or "").strip() or None,
            central_secret=(env.get(ENV_CENTRAL_SECRET) or "").strip() or None,
            submissions=_path(env, "DVSYNC_SUBMISSIONS"),
            out=_path(env, "DVSYNC_OUT"),
            results_url=(env.get("DVSYNC_RESULTS_URL") or "").strip() or None,
            mapping=_path(env, "DVSYNC_MAPPING"),
            responses=_path(env, "DVSYNC_RESPONSES"),
            workers=_int(env, "DVSYNC_WORKERS", min(4, os.cpu_count() or 1)),
            demo_members=_int(env, "DVSYNC_DEMO_MEMBERS", 3000, minimum=100),
            dask_address=(env.get("DVSYNC_DASK_ADDRESS") or "").strip() or None,
            work_dir=_path(env, "DVSYNC_WORK_DIR"),
            central_retries=_int(env, "DVSYNC_CENTRAL_RETRIES", 3, minimum=0),
            central_retry_delay=_float(env, "DVSYNC_CENTRAL_RETRY_DELAY", 2.0),
            results_retries=_int(env, "DVSYNC_RESULTS_RETRIES", 3, minimum=0),
            lock_wait=_float(env, "DVSYNC_LOCK_WAIT", 60.0),
            workbook_memory_mb=_int(env, "DVSYNC_WORKBOOK_MEMORY_MB", 2048, minimum=64),
            sqlite_arrow=_flag(env, "DVSYNC_SQLITE_ARROW", True),
            debug=_flag(env, "DVSYNC_DEBUG"),
            no_watchdog=_flag(env, "DVSYNC_NO_WATCHDOG"),
            fault_at=(env.get("DVSYNC_FAULT_AT") or "").strip() or None,
            central_password=env.get(ENV_CENTRAL_PASSWORD) or None,
            results_password=env.get(ENV_RESULTS_PASSWORD) or None,
        )


def settings() -> Settings:
    """The settings as the environment holds them now: the one place the environment is read."""
    return Settings.from_env()
