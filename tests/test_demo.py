"""The synthetic data generator (dvsync/demo): determinism, internal consistency, planted lists."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from dvsync.demo import generate
from dvsync.demo.calendar import add_months, next_award, previous_award
from dvsync.demo.generator import per_code
from schemas.contract import CENTRAL_TABLES, INFO_LABELS, INFO_SHEET, LIST_CODES, SHEETS

AS_OF = np.datetime64("2026-11-16")
VALID_PROVINCES = {
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40,
    42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83,
    84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
}  # fmt: skip


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with sqlite3.connect(path / "central.sqlite") as con:
        return {t: pd.read_sql_query(f'SELECT * FROM "{t}"', con) for t in CENTRAL_TABLES}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(1500, out, seed=11, workers=2)
    return out


@pytest.fixture(scope="module")
def central(demo) -> dict[str, pd.DataFrame]:
    return _tables(demo)


@pytest.fixture(scope="module")
def expected(demo) -> pd.DataFrame:
    return pd.read_csv(demo / "expected_findings.csv", dtype=str, keep_default_na=False)


def test_tables_have_the_contract_columns(central):
    for name, cols in CENTRAL_TABLES.items():
        assert list(central[name].columns) == cols, name
    assert len(central["members"]) >= 1400
    assert central["members"]["member_code"].is_unique


def test_same_seed_same_data(demo, central, expected, tmp_path):
    generate(1500, tmp_path, seed=11, workers=1)
    again = _tables(tmp_path)
    for name in CENTRAL_TABLES:
        pd.testing.assert_frame_equal(central[name], again[name], check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(
        expected, pd.read_csv(tmp_path / "expected_findings.csv", dtype=str, keep_default_na=False)
    )
    # Workbooks are byte-identical too (fixed document dates), whatever the number of workers.
    first = sorted((demo / "submissions").glob("*.xlsx"))
    assert [p.name for p in first] == sorted(p.name for p in (tmp_path / "submissions").glob("*.xlsx"))
    for p in first[:10]:
        assert (
            hashlib.sha256(p.read_bytes()).digest()
            == hashlib.sha256((tmp_path / "submissions" / p.name).read_bytes()).digest()
        )


def test_other_seed_other_data(central, tmp_path):
    generate(300, tmp_path, seed=12)
    other = _tables(tmp_path)
    assert not set(other["members"]["member_code"]) & set(central["members"]["member_code"])


def test_dates_are_consistent(central):
    m = central["members"]
    birth = pd.to_datetime(m["birth_date"]).to_numpy("datetime64[D]")
    decision = pd.to_datetime(m["admission_decision_date"]).to_numpy("datetime64[D]")
    ceremony = pd.to_datetime(m["admission_date"]).to_numpy("datetime64[D]")
    official = pd.to_datetime(m["official_date"]).to_numpy("datetime64[D]")
    assert (decision <= ceremony).all()
    assert (ceremony <= AS_OF).all()
    has = ~np.isnat(official)
    assert (official[has] == add_months(ceremony[has], 12)).all()
    assert (official[has] <= AS_OF).all()
    # At least 18 full years (counted in months) at admission.
    assert (add_months(birth, 18 * 12) <= decision).all()
    # Card numbers only for full members.
    assert m.loc[~has, "card_no"].isna().all()
    assert m.loc[has, "card_no"].notna().all()
    assert m["dossier_no"].str.fullmatch(r"\d{6}[A-Z]{2,3}").all()
    for col in ["birth_date", "admission_date", "official_date", "status_date"]:
        assert m[col].dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), col
    t = central["transfers"]
    assert t["fees_paid_through"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (t["letter_date"] <= t["received_on"].fillna("9999")).all()


def test_personal_ids_agree_with_birth_and_gender(central, expected):
    m = central["members"]
    flagged = set(expected.loc[expected["list_code"] == "INVALID_PERSONAL_ID", "member_code"])
    clean = m[~m["member_code"].isin(flagged) & m["personal_id"].notna()]
    ids = clean["personal_id"].where(clean["personal_id"].str.len() != 11, "0" + clean["personal_id"])
    twelve = ids.str.len() == 12
    assert set(ids[~twelve].str.len()) <= {9}  # old 9-digit CMND
    ids, c = ids[twelve], clean[twelve]
    year = c["birth_date"].str[:4].astype(int)
    female = (c["gender"] == "Nữ").astype(int)
    assert ids.str[:3].astype(int).isin(VALID_PROVINCES).all()
    assert (ids.str[3].astype(int) == (year - 1900) // 100 * 2 + female).all()
    assert (ids.str[4:6].astype(int) == year % 100).all()
    # Unique across records except the planted duplicates.
    dups = set(
        expected.loc[
            (expected["list_code"] == "DUPLICATE_PERSON") & (expected["field"] == "personal_id"),
            "member_code",
        ]
    )
    assert not m[~m["member_code"].isin(dups)]["personal_id"].dropna().duplicated().any()


def test_organisation_tree_and_cell_sizes(central):
    o = central["organizations"]
    assert set(o["kind"]) == {"province", "upper", "grassroots_committee", "grassroots_cell", "cell"}
    assert o["org_code"].str.fullmatch(r"\d{2}\.\d{3}\.\d{3}\.\d{3}\.\d{3}").all()
    assert o["parent_code"].isna().sum() == 1
    assert o["parent_code"].dropna().isin(o["org_code"]).all()
    kind = o.set_index("org_code")["kind"]
    m = central["members"]
    assert kind.reindex(m["cell_code"]).isin(["cell", "grassroots_cell"]).all()
    screened = m[m["status"].isin(["active", "exempt"])]
    sizes = screened.groupby("cell_code").size()
    assert sizes.min() >= 3
    assert 15 <= sizes.mean() <= 35
    inactive_orgs = o.loc[o["active"] == 0, "org_code"]
    assert not screened["cell_code"].isin(inactive_orgs).any()


def test_badges_follow_the_milestones(central, expected):
    """Clean members hold the badge of every milestone reached by the next award date."""
    m = central["members"].set_index("member_code")
    m = m[m["status"].isin(["active", "exempt"])]
    gaps = central["activity_gaps"]
    gap_days = (pd.to_datetime(gaps["to_date"]) - pd.to_datetime(gaps["from_date"])).dt.days
    gap = gap_days.groupby(gaps["member_code"]).sum().reindex(m.index).fillna(0)
    award = pd.Timestamp(str(next_award(AS_OF)))
    decision = pd.to_datetime(m["admission_decision_date"])
    held = central["badges"].groupby("member_code")["years"].max().reindex(m.index).fillna(0)
    due = pd.Series(0, index=m.index)
    for ms in [30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90]:
        reach = decision + pd.DateOffset(years=ms) + pd.to_timedelta(gap, unit="D")
        due = due.mask(reach <= award, ms)
    missing = set(m.index[(due > 0) & (held < due)])
    planted = set(expected.loc[expected["list_code"].isin(["BADGE_DUE", "BADGE_WITHHELD"]), "member_code"])
    assert missing == planted
    # Awards only on award dates, never after the previous one.
    awarded = pd.to_datetime(central["badges"]["awarded_on"])
    assert (awarded <= pd.Timestamp(str(previous_award(next_award(AS_OF))))).all()
    assert set(zip(awarded.dt.month, awarded.dt.day, strict=True)) <= {(2, 3), (5, 19), (9, 2), (11, 7)}


def test_dossiers_are_complete_except_the_planted(central, expected):
    m = central["members"]
    m = m[m["status"].isin(["active", "exempt"])]
    docs = central["dossier_documents"]
    have = set(zip(docs["member_code"], docs["doc_type"], strict=True))
    missing = []
    for code, official, ceremony in zip(
        m["member_code"], m["official_date"], m["admission_date"], strict=True
    ):
        need = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV"]
        need += ["QD-CT"] if pd.notna(official) else []
        need += ["3-HSDV"] if int(ceremony[:4]) < 2025 else []
        missing += [(code, d) for d in need if (code, d) not in have]
    planted = expected[expected["list_code"] == "DOSSIER_MISSING_DOC"]
    assert set(missing) == set(zip(planted["member_code"], planted["field"], strict=True))


def test_every_workbook_has_every_sheet(demo, central):
    files = sorted((demo / "submissions").glob("*.xlsx"))
    cells = central["organizations"]
    assert files
    for p in files[:15]:
        wb = CalamineWorkbook.from_path(str(p))
        assert wb.sheet_names == [INFO_SHEET, *SHEETS]
        info = wb.get_sheet_by_name(INFO_SHEET).to_python()
        labels = {row[0]: row[1] for row in info}
        assert list(labels) == list(INFO_LABELS)
        cell, period = p.stem.rsplit("_", 1)
        assert labels["Mã chi bộ"] == cell and cell in set(cells["org_code"])
        assert labels["Kỳ báo cáo"] == f"{period[5:]}/{period[:4]}"
        for sheet, headers in SHEETS.items():
            rows = wb.get_sheet_by_name(sheet).to_python()
            assert rows[0] == list(headers), (p.name, sheet)
        roster = wb.get_sheet_by_name("DanhSach").to_python()[1:]
        # IDs and codes are text (leading zeros kept).
        assert all(isinstance(r[0], str) and isinstance(r[4], str | type(None)) for r in roster if r[4] != "")


def test_roster_agrees_with_central_for_clean_members(demo, central, expected):
    """The period rosters list every screened member of the cell, with the central values."""
    m = central["members"].set_index("member_code")
    involved = set(expected["member_code"])
    p = next(p for p in sorted((demo / "submissions").glob("*_2026-10.xlsx")))
    roster = CalamineWorkbook.from_path(str(p)).get_sheet_by_name("DanhSach").to_python()[1:]
    cell = p.stem.rsplit("_", 1)[0]
    listed = {r[0] for r in roster}
    transit = central["transfers"]
    transit = set(transit.loc[(transit["kind"] == "official") & transit["received_on"].isna(), "member_code"])
    own = m[(m["cell_code"] == cell) & m["status"].isin(["active", "exempt"])].index
    assert set(own) - listed - transit - involved == set()
    for r in roster:
        code = r[0]
        if code in involved or code not in m.index or r[7] == "Sinh hoạt tạm thời":
            continue
        assert " ".join(str(r[1]).split()).lower() != "" and r[3] == m.loc[code, "gender"]


def test_small_population_still_plants_every_list(tmp_path):
    generate(300, tmp_path, seed=3)
    exp = pd.read_csv(tmp_path / "expected_findings.csv", dtype=str, keep_default_na=False)
    assert set(LIST_CODES) <= set(exp["list_code"])


@pytest.mark.slow
def test_ten_thousand_members_plant_five_per_list(tmp_path):
    summary = generate(10_000, tmp_path, seed=5)
    exp = pd.read_csv(tmp_path / "expected_findings.csv", dtype=str, keep_default_na=False)
    counts = exp["list_code"].value_counts()
    assert per_code(10_000) == 5
    for code in LIST_CODES:
        assert counts.get(code, 0) >= 5, code
    assert summary["members"] >= 9_900
    assert date.fromisoformat(summary["as_of"]) == date(2026, 11, 16)
