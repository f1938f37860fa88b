"""The same flow on a Dask cluster and on the thread pool; a transient database outage retried."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from pgtest import NAME as PG_DB
from pgtest import PG_URL


def _nightly(
    env: dict, demo: Path, out: Path, *extra: str, timeout: int = 900
) -> subprocess.CompletedProcess:
    as_of = json.loads((demo / "demo.json").read_text())["as_of"]
    cmd = [
        sys.executable,
        "-m",
        "dvsync.cli",
        "nightly",
        "--submissions",
        str(demo / "submissions"),
        "--out",
        str(out),
        "--as-of",
        as_of,
        *extra,
    ]
    if "--central" not in extra:
        cmd += ["--central", f"sqlite:///{demo / 'central.sqlite'}"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_findings(
    prefect_server: dict, demo_small: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    env = prefect_server
    # Worker processes inherit the environment: they must talk to the real server, not start their own.
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")}
    os.environ.update({k: env[k] for k in saved})
    try:
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            dask = _nightly(env, demo_small, tmp_path / "dask", "--dask-address", cluster.scheduler_address)
            # What the cluster's scheduler ran: the flow's tasks, not a local fallback.
            ran = set(cluster.scheduler.task_prefixes)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert dask.returncode == 0, dask.stderr[-3000:]
    local = _nightly(env, demo_small, tmp_path / "local")
    assert local.returncode == 0, local.stderr[-3000:]
    found = (tmp_path / "dask" / "findings.csv").read_bytes()
    assert found.count(b"\n") > 10
    assert found == (tmp_path / "local" / "findings.csv").read_bytes()
    # Workbook batches and member partitions (one per worker at least) ran on the cluster.
    assert {"parse_workbooks", "reconcile_partition"} <= ran, ran
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["partitions"] >= 2


class _FlakyProxy:
    """A TCP proxy to PostgreSQL that drops the first connection attempts (the database is
    restarting), then forwards every connection."""

    def __init__(self, target: tuple[str, int], drop_first: int) -> None:
        self.target = target
        self.drop_left = drop_first
        self.dropped = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.drop_left > 0:
                self.drop_left -= 1
                self.dropped += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()


@pytest.mark.slow
def test_unreachable_database_is_retried_then_the_run_succeeds(demo_small: Path, tmp_path: Path) -> None:
    from dvsync.demo.loading import copy_tables, drop_schema

    schema = f"dvsync_retry_{uuid.uuid4().hex[:8]}"
    copy_tables(f"sqlite:///{demo_small / 'central.sqlite'}", PG_URL, schema=schema)
    mapping = tmp_path / "pg.yaml"
    mapping.write_text(f"schema: {schema}\n", encoding="utf-8")
    proxy = _FlakyProxy(("127.0.0.1", 5432), drop_first=1)
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{PG_DB}"
    try:
        run = _nightly(env, demo_small, tmp_path / "out", "--central", url, "--mapping", str(mapping))
    finally:
        proxy.close()
        drop_schema(PG_URL, schema)
    assert run.returncode == 0, run.stderr[-3000:]
    assert proxy.dropped == 1
    log = run.stdout + run.stderr
    assert "retry 1/" in log.lower(), log[-3000:]  # one retry layer, its true count
    assert (tmp_path / "out" / "findings.csv").read_bytes().count(b"\n") > 10
