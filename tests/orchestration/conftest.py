"""A real local Prefect server for the orchestration tests (deployments, workers, Dask)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prefectkit import prefect_server as start_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-server-home")
    extra = {"DVSYNC_PROJECT_DIR": str(ROOT)}
    with start_server(home, extra, ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",)) as env:
        yield env
