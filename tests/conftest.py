"""Shared fixtures: a quiet Prefect (one test harness per session) and small demo data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(scope="session", autouse=False)
def prefect_harness(tmp_path_factory):
    """A real, temporary Prefect API for the whole session (starting one costs ~10 s)."""
    os.environ.setdefault("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory) -> Path:
    """A demo data set of ~1,500 members, generated once per session."""
    from dvsync.demo import generate

    out = tmp_path_factory.mktemp("demo-small")
    generate(members=1500, out=out, seed=7)
    return out


def pytest_sessionfinish(session, exitstatus) -> None:
    """Drop this process's own PostgreSQL database, if a test created it (tests/pgtest.py)."""
    import sys

    if "pgtest" in sys.modules:
        sys.modules["pgtest"].drop()
