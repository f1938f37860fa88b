"""prefect.yaml against a real local Prefect server: deploy both, check the schedule, run both from
the worker's environment alone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_prefect_yaml_entrypoints_import() -> None:
    """Every entrypoint of prefect.yaml names a flow that imports (a smoke test of the definitions)."""
    import importlib

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {d["name"] for d in spec["deployments"]}
    assert names == {"nightly-reconciliation", "dossier-audit"}
    for d in spec["deployments"]:
        path, fn = d["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert hasattr(getattr(module, fn), "fn"), d["entrypoint"]


def _prefect(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / "prefect"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"prefect {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


PG_PASSWORD = "Depl0y-Secret-Pw"


@pytest.mark.slow
def test_deployments_run_on_the_workers_environment(
    prefect_server: dict, demo_small: Path, tmp_path: Path
) -> None:
    """README "Deploy with Prefect", word for word: both deployments configured only through the
    worker's environment, central in PostgreSQL; the nightly publishes every list into DVSYNC_OUT,
    then the audit leaves the nightly's findings.csv and summary.json byte for byte as they were."""
    from pgtest import PG_URL

    from dvsync.demo.loading import copy_tables, drop_schema

    schema = f"deploy_{uuid.uuid4().hex[:8]}"
    copy_tables(f"sqlite:///{demo_small / 'central.sqlite'}", PG_URL, schema=schema)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(f"schema: {schema}\n", encoding="utf-8")
    out = tmp_path / "dvsync-out"
    # The password travels in the worker's environment only (trust auth here ignores it).
    central = PG_URL.replace("postgres@", f"postgres:{PG_PASSWORD}@")
    worker_env = {
        **prefect_server,
        "DVSYNC_CENTRAL_URL": central,
        "DVSYNC_SUBMISSIONS": str(demo_small / "submissions"),
        "DVSYNC_OUT": str(out),
        "DVSYNC_MAPPING": str(mapping),
    }
    env = prefect_server
    meta = json.loads((demo_small / "demo.json").read_text())
    try:
        timings = {}
        t0 = time.perf_counter()
        _prefect(env, "work-pool", "create", "dvsync", "--type", "process")
        _prefect(env, "--no-prompt", "deploy", "--all")
        timings["deploy"] = time.perf_counter() - t0

        # The nightly schedule: next run at 01:00 in Asia/Ho_Chi_Minh.
        check = subprocess.run(
            [sys.executable, "-c", _NEXT_RUN], env=env, capture_output=True, text=True, timeout=120
        )
        assert check.returncode == 0, check.stderr
        next_run = datetime.fromisoformat(check.stdout.strip()).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert (next_run.hour, next_run.minute) == (1, 0)

        t0 = time.perf_counter()
        _prefect(
            env,
            "deployment",
            "run",
            "nightly-reconciliation/nightly-reconciliation",
            "-p",
            f"as_of={meta['as_of']}",
        )
        _prefect(worker_env, "worker", "start", "--pool", "dvsync", "--run-once", timeout=600)
        timings["nightly"] = time.perf_counter() - t0
        found = pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
        expected = pd.read_csv(demo_small / "expected_findings.csv", dtype=str)
        assert set(expected["list_code"]) <= set(found["list_code"])  # every planted list published
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["mode"] == "nightly" and summary["inputs"]["demo"] is False
        assert PG_PASSWORD not in (out / "summary.json").read_text(encoding="utf-8")
        assert any((out / "committees").rglob("*.xlsx"))
        before = {name: (out / name).read_bytes() for name in ("findings.csv", "summary.json")}

        committee = _committees(demo_small)[0]
        t0 = time.perf_counter()
        _prefect(
            env,
            "deployment",
            "run",
            "dossier-audit/dossier-audit",
            "-p",
            f"committee={committee}",
            "-p",
            f"as_of={meta['as_of']}",
        )
        _prefect(worker_env, "worker", "start", "--pool", "dvsync", "--run-once", timeout=600)
        timings["audit"] = time.perf_counter() - t0
        assert {name: (out / name).read_bytes() for name in before} == before
        audit = out / "audits" / committee / meta["as_of"]
        audit_summary = json.loads((audit / "summary.json").read_text(encoding="utf-8"))
        assert audit_summary["mode"] == "audit" and audit_summary["committee"] == committee
        assert (audit / "findings.csv").exists()

        names = _flow_run_names(env)
        assert f"nightly-{meta['as_of']}" in names and f"audit-{committee}-{meta['as_of']}" in names, names
        # No password in Prefect's database (flow-run parameters, logs, artifacts).
        db = Path(env["PREFECT_HOME"]) / "prefect.db"
        assert db.exists() and PG_PASSWORD.encode() not in db.read_bytes()
        for wal in Path(env["PREFECT_HOME"]).glob("prefect.db-*"):
            assert PG_PASSWORD.encode() not in wal.read_bytes()
        print("deployment test timings (s):", {k: round(v, 1) for k, v in timings.items()})
    finally:
        drop_schema(PG_URL, schema)


def _flow_run_names(env: dict) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_NAMES], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


_RUN_NAMES = """
import asyncio, json
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as client:
        runs = await client.read_flow_runs()
        print(json.dumps([r.name for r in runs if r.state and r.state.is_completed()]))

asyncio.run(main())
"""


def _committees(demo: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(demo / "central.sqlite") as con:
        rows = con.execute(
            "select org_code from organizations where kind = 'grassroots_committee' order by org_code"
        ).fetchall()
    return [r[0] for r in rows]


_NEXT_RUN = """
import asyncio
from prefect.client.orchestration import get_client
from prefect.server.schemas.schedules import CronSchedule

async def main():
    async with get_client() as client:
        dep = await client.read_deployment_by_name("nightly-reconciliation/nightly-reconciliation")
        sched = dep.schedules[0].schedule
        assert dep.schedules[0].active
        assert sched.timezone == "Asia/Ho_Chi_Minh", sched.timezone
        # The server's own scheduler computes the next runs with this class.
        dates = await CronSchedule(cron=sched.cron, timezone=sched.timezone).get_dates(1)
        print(dates[0].isoformat())

asyncio.run(main())
"""
