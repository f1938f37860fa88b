"""The fault suite's harness: `dvsync nightly` run as an operator runs it (a subprocess against a
running Prefect server), on one small demo data set, killed or starved at chosen points.

``DVSYNC_FAULT_AT=<point>`` makes the run kill itself with SIGKILL there (connectors.faults).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from prefectkit import prefect_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def fault_env(tmp_path_factory):
    """A running Prefect server (as a deployment's runs have) and the environment of the runs."""
    home = tmp_path_factory.mktemp("faults-prefect-home")
    drop = ("DVSYNC_FAULT_AT", "DVSYNC_RESULTS_URL", "DVSYNC_WORK_DIR", "DVSYNC_OUT")
    with prefect_server(home, {"DVSYNC_WORKERS": "1"}, drop) as env:
        yield env


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """~400 members in 10 cells (a few seconds per night)."""
    from dvsync.demo import generate

    out = tmp_path_factory.mktemp("faults-demo")
    generate(members=400, out=out, seed=3)
    return out
