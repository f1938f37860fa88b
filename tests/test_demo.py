"""The synthetic data generator (dvsync/demo): determinism, internal consistency, planted lists."""

from __future__ import annotations

import hashlib
import sqlite3
import unicodedata
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from dvsync.demo import generate
from dvsync.demo.calendar import add_months, next_award, previous_award
from dvsync.demo.faults import COSMETIC, FILE_FAULTS, per_kind
from dvsync.demo.generator import per_code
from schemas.contract import CENTRAL_TABLES, INFO_LABELS, INFO_SHEET, LIST_CODES, SHEET_TABLES, SHEETS

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
    for name in ["expected_quarantine.csv", "expected_normalised.csv", "near_misses.csv"]:
        assert (demo / name).read_bytes() == (tmp_path / name).read_bytes(), name
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


def _cell_workbooks(demo: Path) -> list[Path]:
    """The cells' workbooks (not the planted file-level faults)."""
    return sorted(p for p in (demo / "submissions").glob("*.xlsx") if p.name not in FILE_FAULTS)


def test_every_workbook_has_every_sheet(demo, central):
    files = _cell_workbooks(demo)
    cells = central["organizations"]
    norm = pd.read_csv(demo / "expected_normalised.csv", dtype=str, keep_default_na=False)
    typed = set(
        zip(
            norm.loc[norm["fault"] == "id_number", "source"],
            norm.loc[norm["fault"] == "id_number", "row"].astype(int),
            strict=True,
        )
    )
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
        # IDs and codes are text (leading zeros kept), except the IDs planted as typed numbers.
        assert all(
            isinstance(r[0], str) and isinstance(r[4], str | type(None))
            for n, r in enumerate(roster, start=2)
            if r[4] != "" and (p.name, n) not in typed
        )


def test_roster_agrees_with_central_for_clean_members(demo, central, expected):
    """The period rosters list every screened member of the cell, with the central values."""
    m = central["members"].set_index("member_code")
    involved = set(expected["member_code"])
    p = next(p for p in _cell_workbooks(demo) if p.stem.endswith("_2026-10"))
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


# --- planted input faults -------------------------------------------------------------------------
KEY = ["list_code", "org_code", "member_code", "field"]


def _reconcile(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(findings of rules.reconcile on a generated folder, its expected_findings)."""
    import json

    from connectors.central import read_central
    from connectors.workbooks import read_submissions
    from rules import reconcile
    from schemas.central import validate_central
    from schemas.datasets import RunContext

    meta = json.loads((path / "demo.json").read_text(encoding="utf-8"))
    central_data, _q, _counts = validate_central(read_central(f"sqlite:///{path / 'central.sqlite'}"))
    subs, _sq, _report = read_submissions(path / "submissions", workers=1)
    ctx = RunContext(as_of=pd.Timestamp(meta["as_of"]), period=meta["period"])
    found = reconcile(central_data, subs, ctx)
    expected = pd.read_csv(path / "expected_findings.csv", dtype=str, keep_default_na=False)
    return found, expected


def _keys(df: pd.DataFrame) -> set[tuple]:
    return set(df[KEY].fillna("").astype(str).itertuples(index=False, name=None))


@pytest.fixture(scope="module")
def read(demo):
    from connectors.workbooks import read_submissions

    return read_submissions(demo / "submissions", workers=1)


def test_planted_faults_are_quarantined_where_expected(demo, read):
    data, quarantine, report = read
    exp = pd.read_csv(demo / "expected_quarantine.csv", dtype=str, keep_default_na=False)
    k = per_kind(1500)
    counts = exp["fault"].value_counts()
    for kind in ["roster_no_code", "month_unreadable", "rating_unknown"]:
        assert counts[kind] == k, kind
    # File-level faults: rejected files, one line each (rule "file", no sheet or row).
    files = exp[exp["rule_contains"] == "file"]
    assert set(files["source"]) == set(FILE_FAULTS)
    assert (files["sheet"] == "").all() and (files["row"] == "").all()
    rejected = {e["file"] for e in report if e["status"] == "rejected"}
    assert rejected == set(files["source"])
    assert {e["status"] for e in report if e["file"] not in rejected} == {"accepted"}
    # Row-level faults: exactly the quarantined rows, each with the expected rule.
    rows = exp[exp["rule_contains"] != "file"]
    got = {
        (s, sh, int(r)): rule
        for s, sh, r, rule in quarantine[["source", "sheet", "row", "rule"]].itertuples(index=False)
    }
    want = {
        (s, sh, int(r)): rule
        for s, sh, r, rule in rows[["source", "sheet", "row", "rule_contains"]].itertuples(index=False)
    }
    assert set(got) == set(want), {
        "unexpected": sorted(set(got) - set(want))[:5],
        "missed": sorted(set(want) - set(got))[:5],
    }
    for key, rule in want.items():
        assert rule in got[key], (key, got[key])


def test_rows_are_conserved(read):
    """Per file and sheet, rows read = accepted + quarantined; the totals agree with the tables."""
    data, quarantine, report = read
    totals: dict[str, list[int]] = {}
    for e in report:
        for sheet, c in e["counts"]["per_sheet"].items():
            assert c["read"] == c["accepted"] + c["quarantined"], (e["file"], sheet, c)
            t = totals.setdefault(sheet, [0, 0])
            t[0] += c["accepted"]
            t[1] += c["quarantined"]
    for sheet, (accepted, quarantined) in totals.items():
        assert accepted == len(getattr(data, SHEET_TABLES[sheet])), sheet
        assert quarantined == int((quarantine["sheet"] == sheet).sum()), sheet
    assert sum(q for _a, q in totals.values()) == len(quarantine)


def test_cosmetic_faults_are_normalised_not_quarantined(demo, central, read):
    data, quarantine, _report = read
    norm = pd.read_csv(demo / "expected_normalised.csv", dtype=str, keep_default_na=False)
    assert sorted(norm["fault"].unique()) == sorted(COSMETIC)
    assert (norm["fault"].value_counts() == per_kind(1500)).all()
    m = central["members"].set_index("member_code")
    roster = data.roster.set_index(["_source", "_row"])
    for x in norm.itertuples(index=False):
        row = roster.loc[(x.source, int(x.row))]
        assert row["member_code"] == x.member_code, x
        want = m.loc[x.member_code]
        if x.fault.startswith("name"):
            assert unicodedata.is_normalized("NFC", row["full_name"])
            assert " ".join(row["full_name"].split()).casefold() == want["full_name"].casefold(), x
        elif x.fault == "id_number":
            assert row["personal_id"] == want["personal_id"], x
        else:
            for col in x.column.split(";"):
                if pd.isna(want[col]):
                    assert pd.isna(row[col]), (x, col)
                else:
                    assert row[col] == pd.Timestamp(want[col]), (x, col)
    quarantined = set(zip(quarantine["source"], quarantine["row"].astype(int), strict=True))
    assert not quarantined & set(zip(norm["source"], norm["row"].astype(int), strict=True))


def test_faults_change_neither_central_nor_expected_findings(tmp_path):
    generate(300, tmp_path / "on", seed=4)
    generate(300, tmp_path / "off", seed=4, faults=False)
    on, off = _tables(tmp_path / "on"), _tables(tmp_path / "off")
    for name in CENTRAL_TABLES:
        pd.testing.assert_frame_equal(on[name], off[name], obj=name)
    for name in ["expected_findings.csv", "near_misses.csv"]:
        assert (tmp_path / "on" / name).read_bytes() == (tmp_path / "off" / name).read_bytes(), name
    assert not (tmp_path / "off" / "expected_quarantine.csv").exists()
    assert not {p.name for p in (tmp_path / "off" / "submissions").iterdir()} & set(FILE_FAULTS)


def test_findings_equal_expected_with_faults(demo):
    """rules.reconcile on the demo (faults planted) finds exactly the expected findings."""
    found, expected = _reconcile(demo)
    got, want = _keys(found), _keys(expected)
    assert got == want, {"extra": sorted(got - want)[:5], "missed": sorted(want - got)[:5]}


def test_holiday_near_miss_when_as_of_allows(tmp_path):
    """as_of 10/03/2026: Tết (16-20/02/2026) lies within 30 working days, so a letter more than 6
    calendar weeks old is not overdue; the near miss is planted and not found, every list is exact."""
    generate(2000, tmp_path, seed=3, as_of=date(2026, 3, 10), workers=2)
    near = pd.read_csv(tmp_path / "near_misses.csv", dtype=str, keep_default_na=False)
    hol = near[(near["not_list_code"] == "TRANSFER_OVERDUE") & near["note"].str.contains("holiday week")]
    assert len(hol) == 1
    found, expected = _reconcile(tmp_path)
    got, want = _keys(found), _keys(expected)
    assert got == want, {"extra": sorted(got - want)[:5], "missed": sorted(want - got)[:5]}
    overdue = found[found["list_code"] == "TRANSFER_OVERDUE"]
    assert not set(hol["member_code"]) & set(overdue["member_code"])
    assert len(overdue) >= 5


def test_planted_name_mismatch_always_differs() -> None:
    """A name without diacritics is unchanged by stripping them: the planted mismatch must still
    differ, or the generator expects a finding the data cannot show (seen once in 1,000,000)."""
    from dvsync.demo.generator import _other_name
    from schemas.normalize import fold_name

    for planted, original in [
        ("Phan Minh Oanh", "Phan Minh Oanh"),
        ("PHAN  minh oanh", "Phan Minh Oanh"),
        ("An", "An"),
        ("Lê Văn Hùng", "Le Van Hung"),
    ]:
        got = _other_name(planted, original)
        assert fold_name(pd.Series([got])).iloc[0] != fold_name(pd.Series([original])).iloc[0], got
    assert _other_name("Nguyen Van A", "Nguyễn Văn A") == "Nguyen Van A"  # already differs: kept
