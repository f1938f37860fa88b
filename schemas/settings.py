"""One place for the settings that swap demo, test and production without touching the flows.

Every setting has an environment variable (the deployments' workers are configured through
these alone); command-line options and flow parameters override them. A bad value is a usage
error (exit 2) naming the variable, raised before any Prefect server or flow starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
        )
