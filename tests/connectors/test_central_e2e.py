"""The nightly run gives the same findings.csv whichever way the central database is read:
the demo SQLite file, the same data in PostgreSQL through psycopg, and through the PostgreSQL ODBC
driver (``odbc:``). Plus the command line's exit status 3 for an unreachable database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pgtest import PG_ODBC, PG_URL

from connectors.central import make_engine
from dvsync.demo.loading import copy_tables, drop_schema


@pytest.fixture(scope="module")
def demo_in_pg(demo_small: Path, tmp_path_factory):
    try:
        make_engine(PG_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432 (run .ci/system-deps.sh): {exc}")
    schema = f"dvsync_e2e_{uuid.uuid4().hex[:10]}"
    counts = copy_tables(f"sqlite:///{demo_small / 'central.sqlite'}", PG_URL, schema=schema)
    assert counts["members"] > 1000
    mapping = tmp_path_factory.mktemp("e2e-mapping") / "pg.yaml"
    mapping.write_text(f"schema: {schema}\n", encoding="utf-8")
    yield mapping
    drop_schema(PG_URL, schema)


@pytest.fixture(scope="module")
def runs(demo_small: Path, demo_in_pg: Path, prefect_harness, tmp_path_factory) -> dict[str, Path]:
    from flows.nightly import nightly_reconciliation

    as_of = json.loads((demo_small / "demo.json").read_text())["as_of"]
    sources = {
        "sqlite": (f"sqlite:///{demo_small / 'central.sqlite'}", None),
        "psycopg": (PG_URL, str(demo_in_pg)),
        "odbc-postgresql": (PG_ODBC, str(demo_in_pg)),
    }
    outs = {}
    for name, (central, mapping) in sources.items():
        out = tmp_path_factory.mktemp(f"nightly-{name}")  # each with its own results database
        nightly_reconciliation(
            central=central,
            mapping=mapping,
            submissions=str(demo_small / "submissions"),
            out=str(out),
            as_of=as_of,
        )
        outs[name] = out
    return outs


def test_same_findings_csv_on_postgresql_odbc_and_sqlite(runs: dict[str, Path]) -> None:
    base = (runs["sqlite"] / "findings.csv").read_bytes()
    assert base.count(b"\n") > 10, "the demo data should give findings"
    for name in ["psycopg", "odbc-postgresql"]:
        assert (runs[name] / "findings.csv").read_bytes() == base, name
        assert (runs[name] / "quarantine.csv").read_bytes() == (
            runs["sqlite"] / "quarantine.csv"
        ).read_bytes()


def test_summary_counts_the_same_rows(runs: dict[str, Path]) -> None:
    def counts(name: str) -> dict:
        summary = json.loads((runs[name] / "summary.json").read_text(encoding="utf-8"))
        return {k: v for k, v in summary.items() if k in ("findings", "counts_per_list", "quarantined_rows")}

    assert counts("psycopg") == counts("sqlite") == counts("odbc-postgresql")


def test_cli_unreachable_database_exits_3_with_one_clear_line(demo_small: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DVSYNC_CENTRAL_RETRIES": "1",
        "DVSYNC_CENTRAL_RETRY_DELAY": "0.1",
    }
    env.pop("DVSYNC_CENTRAL_URL", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dvsync.cli",
            "nightly",
            "--central",
            "postgresql+psycopg://postgres:Hidden-Pw-7@127.0.0.1:1/test",
            "--submissions",
            str(demo_small / "submissions"),
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Hidden-Pw-7" not in proc.stderr + proc.stdout
    last = [line for line in proc.stderr.splitlines() if line.startswith("dvsync:")]
    assert len(last) == 1 and "127.0.0.1" in last[0] and "***" in last[0], proc.stderr[-2000:]


@pytest.mark.slow
def test_cli_keeps_the_password_out_of_prefect(
    demo_small: Path, demo_in_pg: Path, runs: dict[str, Path], tmp_path: Path
) -> None:
    """A password given in --central reaches the database (PostgreSQL here trusts, so any password
    works) but never Prefect's database (flow-run parameters, logs, artifacts) nor the outputs."""
    password = "Cli-Hidden-Pw-42"
    home = tmp_path / "prefect"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVSYNC_")}
    env["PREFECT_HOME"] = str(home)
    as_of = json.loads((demo_small / "demo.json").read_text())["as_of"]
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dvsync.cli",
            "nightly",
            "--central",
            PG_URL.replace("postgres@", f"postgres:{password}@"),
            "--mapping",
            str(demo_in_pg),
            "--submissions",
            str(demo_small / "submissions"),
            "--out",
            str(out),
            "--as-of",
            as_of,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert password not in proc.stdout + proc.stderr
    # The same lists as the run with no password at all.
    assert (out / "findings.csv").read_bytes() == (runs["psycopg"] / "findings.csv").read_bytes()
    stored = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "prefect.db" for p in stored)
    for p in [*stored, *[p for p in out.rglob("*") if p.is_file()]]:
        assert password.encode() not in p.read_bytes(), p
