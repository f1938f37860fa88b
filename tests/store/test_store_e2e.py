"""End to end through the nightly flow: the sync store changes the findings.

One scenario on the demo data, run on SQLite and on PostgreSQL results databases:
1. 2026-11-16: the demo's workbooks.
2. 2026-11-17: cell C sends its July, August and September workbooks late, one month each, with
   member M absent every time -> REMOVAL_ABSENCE_OR_FEES for M (October alone shows nothing).
3. 2026-11-18: July and August files leave the folder (the store keeps them); cell C2 sends a
   corrected October workbook without member X -> ROSTER_MISSING_IN_CELL for X, the old copy is
   superseded. Run twice: byte-identical findings, no duplicate rows.
4. 2026-11-19: C2 corrects again with X back -> the finding is resolved.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from storekit import PG_URL, SESSION, derive_workbook, drop_schema

from connectors.store import ResultsStore
from connectors.workbooks import read_submissions

PERIOD = "2026-10"
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-18 (rerun)", "2026-11-19"]


def _choose(demo: Path) -> dict:
    """C, M: a cell with only its October workbook and an ordinary member who attended in October;
    C2, X: another cell and an ordinary member of it (no planted anomaly, no transfer)."""
    folder = demo / "submissions"
    subs, _, report = read_submissions(folder, workers=1)
    con = sqlite3.connect(demo / "central.sqlite")
    members = pd.read_sql("SELECT member_code, cell_code, status FROM members", con)
    transfers = pd.read_sql("SELECT member_code FROM transfers", con)
    con.close()
    expected = pd.read_csv(demo / "expected_findings.csv", dtype=str)
    near = pd.read_csv(demo / "near_misses.csv", dtype=str) if (demo / "near_misses.csv").exists() else None
    busy = set(expected["member_code"].dropna()) | set(transfers["member_code"])
    if near is not None and "member_code" in near:
        busy |= set(near["member_code"].dropna())
    ordinary = members[(members["status"] == "active") & ~members["member_code"].isin(busy)]
    periods = {c: set(g) for c, g in subs.workbooks.groupby("cell_code")["period"]}
    files = {
        e["cell_code"]: e["file"] for e in report if e.get("period") == PERIOD and e["status"] == "accepted"
    }
    only_october = sorted(c for c, p in periods.items() if p == {PERIOD} and c in files)
    roster = subs.roster[(subs.roster["period"] == PERIOD) & (subs.roster["roster_status"] == "active")]
    act = subs.activity[(subs.activity["month"] == PERIOD) & subs.activity["attended"].fillna(False)]
    picks: list[tuple[str, str]] = []
    for cell in only_october:
        own = ordinary[ordinary["cell_code"] == cell]["member_code"]
        ok = roster[
            (roster["cell_code"] == cell)
            & roster["member_code"].isin(own)
            & roster["member_code"].isin(act["member_code"])
        ]["member_code"]
        if len(ok):
            picks.append((cell, sorted(ok)[0]))
        if len(picks) == 2:
            break
    assert len(picks) == 2, "the demo has no two cells to play the scenario with"
    (c, m), (c2, x) = picks
    return {"C": c, "M": m, "C2": c2, "X": x, "file_C": files[c], "file_C2": files[c2]}


def _findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)


def _scenario(demo: Path, pick: dict, work: Path, results: str) -> dict:
    from flows.nightly import nightly_reconciliation

    folder = work / "submissions"
    shutil.copytree(demo / "submissions", folder)
    out = work / "out"
    steps: dict = {}

    def night(label: str) -> None:
        summary = nightly_reconciliation(
            central=f"sqlite:///{demo / 'central.sqlite'}",
            submissions=str(folder),
            out=str(out),
            as_of=label[:10],
            period=PERIOD,
            results=results,
        )
        steps[label] = {
            "csv": (out / "findings.csv").read_bytes(),
            "findings": _findings(out),
            "summary": summary,
        }

    night(DAYS[0])
    src = folder / pick["file_C"]
    for month in ["07", "08", "09"]:
        derive_workbook(
            src,
            folder / f"{pick['C']}_late_{month}.xlsx",
            period=f"2026-{month}",
            created_on=f"2026-{month}-28",
            activity=[(pick["M"], f"{month}/2026", False, False, True)],
            keep_optional=False,
        )
    night(DAYS[1])
    for month in ["07", "08"]:
        (folder / f"{pick['C']}_late_{month}.xlsx").unlink()
    src2 = folder / pick["file_C2"]
    derive_workbook(
        src2, folder / f"{pick['C2']}_corrected_v2.xlsx", created_on="2026-11-17", drop_members=(pick["X"],)
    )
    night(DAYS[2])
    night(DAYS[3])
    derive_workbook(src2, folder / f"{pick['C2']}_corrected_v3.xlsx", created_on="2026-11-18")
    night(DAYS[4])
    store = ResultsStore(results)
    steps["history"] = store.history()
    steps["workbooks"] = store.workbooks()
    steps["runs"] = store.runs()
    with store.engine.connect() as conn:
        steps["counts"] = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ["runs", "findings", "finding_events", "sub_workbooks", "sub_roster", "sub_activity"]
        }
    store.dispose()
    return steps


@pytest.fixture(scope="module")
def scenario(demo_small: Path, prefect_harness, tmp_path_factory) -> dict:
    pick = _choose(demo_small)
    lite = _scenario(
        demo_small,
        pick,
        tmp_path_factory.mktemp("e2e-sqlite"),
        f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'results.sqlite'}",
    )
    schema = f"dvsync_e2e_{SESSION}_{uuid.uuid4().hex[:6]}"
    try:
        pg = _scenario(demo_small, pick, tmp_path_factory.mktemp("e2e-pg"), f"{PG_URL}?schema={schema}")
    finally:
        drop_schema(schema)
    return {"pick": pick, "sqlite": lite, "postgresql": pg}


def _rows(steps: dict, day: str, list_code: str, member: str) -> pd.DataFrame:
    f = steps[day]["findings"]
    return f[(f["list_code"] == list_code) & (f["member_code"] == member)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_absences_from_three_monthly_workbooks(scenario, backend):
    steps, m = scenario[backend], scenario["pick"]["M"]
    assert _rows(steps, DAYS[0], "REMOVAL_ABSENCE_OR_FEES", m).empty
    found = _rows(steps, DAYS[1], "REMOVAL_ABSENCE_OR_FEES", m)
    assert found[["field", "status", "first_seen"]].values.tolist() == [["attendance", "new", DAYS[1]]]
    assert steps[DAYS[1]]["summary"]["files"]["files_new"] == 3
    # July and August are no longer in the folder: the store still counts them.
    found = _rows(steps, DAYS[2], "REMOVAL_ABSENCE_OR_FEES", m)
    assert found[["status", "first_seen"]].values.tolist() == [["open", DAYS[1]]]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_findings_follow_the_corrected_workbook(scenario, backend):
    steps, pick = scenario[backend], scenario["pick"]
    x = pick["X"]
    assert _rows(steps, DAYS[1], "ROSTER_MISSING_IN_CELL", x).empty
    found = _rows(steps, DAYS[2], "ROSTER_MISSING_IN_CELL", x)
    assert found[["org_code", "status"]].values.tolist() == [[pick["C2"], "new"]]
    # Resolved by the correction: findings.csv lists it that day as resolved (contract §3 status).
    assert _rows(steps, DAYS[4], "ROSTER_MISSING_IN_CELL", x)["status"].tolist() == ["resolved"]
    hist = steps["history"]
    row = hist[(hist["list_code"] == "ROSTER_MISSING_IN_CELL") & (hist["member_code"] == x)]
    assert row[["status", "first_seen", "last_seen", "resolved_on"]].values.tolist() == [
        ["resolved", DAYS[2], DAYS[2], DAYS[4]]
    ]
    books = steps["workbooks"]
    c2 = books[(books["cell_code"] == pick["C2"]) & (books["period"] == PERIOD)].set_index("file")["status"]
    assert c2.to_dict() == {
        pick["file_C2"]: "superseded",
        f"{pick['C2']}_corrected_v2.xlsx": "superseded",
        f"{pick['C2']}_corrected_v3.xlsx": "accepted",
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_rerun_is_byte_identical_without_duplicates(scenario, backend):
    steps = scenario[backend]
    assert steps[DAYS[2]]["csv"] == steps[DAYS[3]]["csv"]
    runs = steps["runs"]
    assert runs["as_of"].tolist() == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
    assert runs["attempts"].tolist() == [1, 1, 2, 1]
    assert steps["counts"]["runs"] == 4
    assert steps["counts"]["findings"] == steps["history"]["finding_id"].nunique()
    assert steps[DAYS[3]]["summary"]["files"]["files_new"] == 0


def test_postgresql_gives_the_same_findings_as_sqlite(scenario):
    for day in DAYS:
        assert scenario["sqlite"][day]["csv"] == scenario["postgresql"][day]["csv"], day
    lite, pg = scenario["sqlite"], scenario["postgresql"]
    assert lite["counts"] == pg["counts"]
    pd.testing.assert_frame_equal(
        lite["history"].drop(columns="last_run_id"), pg["history"].drop(columns="last_run_id")
    )


def test_summary_counts_are_json(scenario):
    json.dumps(scenario["sqlite"][DAYS[4]]["summary"], default=str)
