"""End to end: the nightly flow on generated demo data finds exactly what the generator planted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

KEY = ["list_code", "member_code", "field"]


def _keys(df: pd.DataFrame, prefix: str) -> set[tuple]:
    df = df[df["list_code"].str.startswith(prefix)]
    return set(df[KEY].fillna("").astype(str).itertuples(index=False, name=None))


@pytest.fixture(scope="module")
def nightly_out(demo_small: Path, prefect_harness, tmp_path_factory) -> Path:
    from flows.nightly import nightly_reconciliation

    out = tmp_path_factory.mktemp("nightly-out")
    nightly_reconciliation(
        central=f"sqlite:///{demo_small / 'central.sqlite'}",
        submissions=str(demo_small / "submissions"),
        out=str(out),
        as_of=json.loads((demo_small / "demo.json").read_text())["as_of"],
    )
    return out


def test_outputs_written(nightly_out: Path) -> None:
    for name in ["findings.csv", "quarantine.csv", "summary.json"]:
        assert (nightly_out / name).stat().st_size > 0, name
    assert list((nightly_out / "committees").rglob("*.xlsx")), "no committee workbook"
    summary = json.loads((nightly_out / "summary.json").read_text(encoding="utf-8"))
    assert summary["findings"] > 0
    assert summary["counts_per_list"]


def test_roster_findings_equal_planted(nightly_out: Path, demo_small: Path) -> None:
    found = pd.read_csv(nightly_out / "findings.csv", dtype=str, encoding="utf-8-sig")
    expected = pd.read_csv(demo_small / "expected_findings.csv", dtype=str)
    planted = _keys(expected, "ROSTER_")
    assert planted, "the generator planted no ROSTER_* anomaly"
    assert _keys(found, "ROSTER_") == planted


@pytest.mark.slow
def test_readme_first_command_on_bundled_demo(tmp_path: Path) -> None:
    """`dvsync nightly --demo` (what `make nightly` runs) works on the bundled demo data and writes the outputs."""
    env = {
        **os.environ,
        "DVSYNC_HOME": str(tmp_path / "home"),
        "DVSYNC_DEMO_MEMBERS": "800",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "dvsync.cli", "nightly", "--demo", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig")
    demo = next((tmp_path / "home").glob("demo-*"))
    expected = pd.read_csv(demo / "expected_findings.csv", dtype=str)
    assert _keys(found, "ROSTER_") == _keys(expected, "ROSTER_")
