"""The benchmark's data: the national generator (province by province), corrected workbooks that
change the planted findings, and the store preloaded with the year."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not an installed package

from dvsync.demo import generate  # noqa: E402
from dvsync.demo.corrections import correct_workbooks  # noqa: E402
from dvsync.demo.names import PROVINCES_2025  # noqa: E402


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("national")
    generate(members=4_500, out=out, seed=3, provinces=3)
    return out


def test_national_data_set_is_built_province_by_province(national: Path) -> None:
    meta = json.loads((national / "demo.json").read_text())
    assert meta["provinces"] == 3 and meta["generator_version"] == "1.3"
    codes = [p[0] for p in PROVINCES_2025[:3]]
    assert [p["code"] for p in meta["per_province"]] == codes
    con = sqlite3.connect(national / "central.sqlite")
    try:
        roots = {r[0] for r in con.execute("SELECT org_code FROM organizations WHERE parent_code IS NULL")}
        members = pd.read_sql("SELECT member_code, cell_code, personal_id FROM members", con)
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in meta["rows"]}
    finally:
        con.close()
    assert roots == {f"{c}.000.000.000.000" for c in codes}  # one tree per province, real codes
    assert counts == meta["rows"] and len(members) == meta["members"]
    assert members["member_code"].is_unique
    assert set(members["member_code"].str[:2]) == set(codes)  # member codes carry their province
    assert set(members["cell_code"].dropna().str[:2]) == set(codes)
    # Every province plants its own findings, in its own tree.
    expected = pd.read_csv(national / "expected_findings.csv", dtype=str)
    assert set(expected["org_code"].str[:2]) >= set(codes)
    # ID serials come from disjoint ranges: no person shares an ID across provinces by accident.
    ids = members.dropna(subset=["personal_id"]).assign(p=lambda d: d["member_code"].str[:2])
    shared = ids[ids["personal_id"].duplicated(keep=False)]
    assert shared.groupby("personal_id")["p"].nunique().max() in (1, None) or shared.empty
    files = list((national / "submissions").glob("*.xlsx"))
    assert len(files) == meta["workbooks"]
    assert {f.name[:2] for f in files if f.name[0].isdigit()} == set(codes)


def test_single_province_data_set_is_unchanged(tmp_path: Path) -> None:
    meta = generate(members=800, out=tmp_path, seed=5)
    assert "provinces" not in meta
    con = sqlite3.connect(tmp_path / "central.sqlite")
    try:
        assert {
            r[0][:2] for r in con.execute("SELECT org_code FROM organizations WHERE parent_code IS NULL")
        } == {"93"}
    finally:
        con.close()


def test_corrected_workbooks_change_the_planted_findings(demo_small: Path, tmp_path: Path) -> None:
    from connectors.workbooks import _parse_all

    subs = tmp_path / "submissions"
    shutil.copytree(demo_small / "submissions", subs)
    meta = json.loads((demo_small / "demo.json").read_text())
    expected = pd.read_csv(demo_small / "expected_findings.csv", dtype=str).fillna("")
    after, stats = correct_workbooks(demo_small, subs, meta["period"], date(2026, 11, 17), 0.2, 1, expected)
    assert (
        stats["workbooks"] >= 5 and sum(stats["new"].values()) >= 3 and sum(stats["resolved"].values()) >= 1
    )
    assert len(after) == len(expected) - sum(stats["resolved"].values()) + sum(stats["new"].values())
    paths = [subs / f for f in stats["files"]]
    results = _parse_all(paths, [p.name for p in paths], 1)
    assert not any(r.error for r in results)
    assert all(pd.Timestamp(r.meta["created_on"]).date() == date(2026, 11, 17) for r in results)
    assert all(r.quarantine.empty for r in results)  # rows renumbered, nothing else broken
    roster = pd.concat([r.tables["roster"] for r in results])
    new = after[after["note"] == "corrected workbook"]
    gone = new[new["list_code"] == "ROSTER_MISSING_IN_CELL"]["member_code"]
    assert not roster["member_code"].isin(gone).any()
    renamed = new[new["list_code"] == "ROSTER_FIELD_MISMATCH"]
    con = sqlite3.connect(demo_small / "central.sqlite")
    central = pd.read_sql("SELECT member_code, full_name FROM members", con).set_index("member_code")[
        "full_name"
    ]
    con.close()
    listed = roster.set_index("member_code")["full_name"]
    for code in renamed["member_code"]:
        assert listed[code] != central[code]
    # Resolved: no longer listed (unknown / inactive) or set back to central's value.
    resolved = expected.merge(after, how="left", indicator=True).query("_merge == 'left_only'")
    for row in resolved.itertuples():
        if row.list_code in ("ROSTER_NOT_IN_CENTRAL", "ROSTER_INACTIVE_LISTED"):
            assert row.member_code not in set(roster[roster["cell_code"] == row.org_code]["member_code"])


def test_store_preloaded_with_the_year(demo_small: Path, tmp_path: Path) -> None:
    from bench.preload import earlier_months, preload_year
    from connectors.store import ResultsStore
    from connectors.workbooks import _parse_all

    meta = json.loads((demo_small / "demo.json").read_text())
    period = meta["period"]
    db = tmp_path / "results.sqlite"
    store = ResultsStore(f"sqlite:///{db}")
    store.migrate()
    files = sorted((demo_small / "submissions").glob("*.xlsx"))
    store.load_workbooks(_parse_all(files, [f.name for f in files], 1, whole_chunks=True))
    before = store.submissions(period)
    info = preload_year(db, period)
    after = store.submissions(period)
    months = earlier_months(period)
    assert info["workbooks_added"] > 0 and info["activity_rows_added"] > 0
    act = after.activity
    # (a month resent inside a later workbook keeps the resent row: per member and month, one row)
    assert len(before.activity) + 0.95 * info["activity_rows_added"] < len(act)
    assert len(act) <= len(before.activity) + info["activity_rows_added"]
    # Every month of the year is back, and the period's own rows are untouched.
    stored_months = set(act["month"].astype(str))
    assert all(any(m in s or f"{m[5:7]}/{m[:4]}" in s for s in stored_months) for m in months)
    pd.testing.assert_frame_equal(after.roster.reset_index(drop=True), before.roster.reset_index(drop=True))
