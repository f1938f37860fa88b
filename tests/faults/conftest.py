"""The fault suite's harness: `dvsync nightly` run as an operator runs it (a subprocess against a
running Prefect server), on one small demo data set, killed or starved at chosen points.

``DVSYNC_FAULT_AT=<point>`` makes the run kill itself with SIGKILL there (connectors.faults).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def fault_env(tmp_path_factory):
    """A running Prefect server (as a deployment's runs have) and the environment of the runs."""
    home = tmp_path_factory.mktemp("faults-prefect-home")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "DVSYNC_WORKERS": "1",
    }
    for key in ("DVSYNC_FAULT_AT", "DVSYNC_RESULTS_URL", "DVSYNC_WORK_DIR", "DVSYNC_OUT"):
        env.pop(key, None)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("prefect server did not start: " + (home / "server.log").read_text()[-2000:])
    yield env
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    log.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """~400 members in 10 cells (a few seconds per night)."""
    from dvsync.demo import generate

    out = tmp_path_factory.mktemp("faults-demo")
    generate(members=400, out=out, seed=3)
    return out
