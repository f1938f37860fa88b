"""prefect.yaml against a real local Prefect server: deploy both, check the schedule, run the audit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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


@pytest.mark.slow
def test_deploy_schedule_and_run_audit(prefect_server: dict, demo_small: Path, tmp_path: Path) -> None:
    env = prefect_server
    _prefect(env, "work-pool", "create", "dvsync", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")

    # The nightly schedule: next run at 01:00 in Asia/Ho_Chi_Minh.
    check = subprocess.run(
        [sys.executable, "-c", _NEXT_RUN], env=env, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    next_run = datetime.fromisoformat(check.stdout.strip()).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (next_run.hour, next_run.minute) == (1, 0)

    # The ad hoc audit, with parameters, run by a worker.
    meta = json.loads((demo_small / "demo.json").read_text())
    orgs = _committees(demo_small)
    out = tmp_path / "audit-out"
    _prefect(
        env,
        "deployment",
        "run",
        "dossier-audit/dossier-audit",
        "-p",
        f"committee={orgs[0]}",
        "-p",
        f"as_of={meta['as_of']}",
        "-p",
        f"central=sqlite:///{demo_small / 'central.sqlite'}",
        "-p",
        f"submissions={demo_small / 'submissions'}",
        "-p",
        f"out={out}",
    )
    _prefect(env, "worker", "start", "--pool", "dvsync", "--run-once", timeout=600)
    assert (out / "findings.csv").exists() and (out / "summary.json").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["mode"] == "audit" and summary["committee"] == orgs[0]
    shutil.rmtree(out)


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
