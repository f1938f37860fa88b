"""One place for the settings that swap demo, test and production without touching the flows.

Every setting has an environment variable; command-line options override them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Prefect must be quiet and offline-safe before it is imported anywhere (stack-notes.md).
_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
}


def prefect_defaults() -> None:
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    home: Path  # DVSYNC_HOME: cache of the bundled demo data
    central_url: str | None  # DVSYNC_CENTRAL_URL
    results_url: str | None  # DVSYNC_RESULTS_URL (default: SQLite in the output folder)
    out: Path  # DVSYNC_OUT
    workers: int  # DVSYNC_WORKERS: processes for workbook parsing and writing
    demo_members: int  # DVSYNC_DEMO_MEMBERS: size of the bundled demo data
    dask_address: str | None  # DVSYNC_DASK_ADDRESS: run tasks on an existing Dask cluster
    work_dir: Path | None  # DVSYNC_WORK_DIR: where a run keeps its partitions' files (default: out)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            home=Path(env.get("DVSYNC_HOME", Path.home() / ".cache" / "dvsync")),
            central_url=env.get("DVSYNC_CENTRAL_URL") or None,
            results_url=env.get("DVSYNC_RESULTS_URL") or None,
            out=Path(env.get("DVSYNC_OUT", "dvsync-out")),
            workers=int(env.get("DVSYNC_WORKERS", str(min(4, os.cpu_count() or 1)))),
            demo_members=int(env.get("DVSYNC_DEMO_MEMBERS", "3000")),
            dask_address=env.get("DVSYNC_DASK_ADDRESS") or None,
            work_dir=Path(env["DVSYNC_WORK_DIR"]) if env.get("DVSYNC_WORK_DIR") else None,
        )


def redact_url(url: str) -> str:
    """A source URL or ODBC string with its password replaced, for logs and summaries."""
    import re

    url = re.sub(r"(?i)((?:pwd|password)\s*=\s*)(\{[^}]*\}|[^;]*)", r"\1***", url)
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
