"""Hostile central data (#16): organisation codes are data, never paths; the tree's faults are
quarantine lines; nothing is dropped.

One small readable tree, run clean and then with one fault at a time through the nightly flow:

    P  (province)
    ├── U1 (upper)
    │   ├── G1 (grassroots committee) ── C11, C12 (cells)
    │   └── G2 (grassroots cell, members of its own)
    └── U2 (upper)
        ├── G3 (grassroots committee) ── C31
        └── G4 (grassroots committee) ── C41

Every cell has two members and sends no workbook, so every cell has findings (a missing
submission, missing dossier documents). For each fault: the run completes; quarantine.csv has
the line naming the organisation; nothing is written outside ``out``; the committees away from
the fault publish exactly the lists of the clean run; the committees above it lose exactly the
fault's findings, which the board's workbook (committees/_ban-to-chuc) lists instead.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from connectors.publish.labels import COLUMN_HEADERS
from connectors.publish.xlsx import BOARD_CODE, UnsafeCommitteePath, committee_workbook_path
from schemas.contract import CENTRAL_TABLES

AS_OF = "2026-11-16"
TREE = [
    ("P", "Tỉnh ủy", "province", None),
    ("U1", "Huyện ủy 1", "upper", "P"),
    ("U2", "Huyện ủy 2", "upper", "P"),
    ("G1", "Đảng bộ xã 1", "grassroots_committee", "U1"),
    ("C11", "Chi bộ ấp 11", "cell", "G1"),
    ("C12", "Chi bộ ấp 12", "cell", "G1"),
    ("G2", "Chi bộ cơ sở 2", "grassroots_cell", "U1"),
    ("G3", "Đảng bộ xã 3", "grassroots_committee", "U2"),
    ("C31", "Chi bộ ấp 31", "cell", "G3"),
    ("G4", "Đảng bộ xã 4", "grassroots_committee", "U2"),
    ("C41", "Chi bộ ấp 41", "cell", "G4"),
]
CELLS = ["C11", "C12", "G2", "C31", "C41"]
ALL = [code for code, *_ in TREE]


def recode(old: str, new: str) -> list[tuple]:
    """An organisation's code changed everywhere it is used (its row, its children, its members)."""
    return [
        ("UPDATE organizations SET org_code = ? WHERE org_code = ?", (new, old)),
        ("UPDATE organizations SET parent_code = ? WHERE parent_code = ?", (new, old)),
        ("UPDATE members SET cell_code = ? WHERE cell_code = ?", (new, old)),
    ]


def parent(code: str, new_parent: str) -> list[tuple]:
    return [("UPDATE organizations SET parent_code = ? WHERE org_code = ?", (new_parent, code))]


# name -> (changes, quarantine rules expected, the code they name (as printed), organisations whose
# findings no root receives (codes of the clean run / of the hostile run), committees unchanged,
# committees above the fault).
G1_SUBTREE = {"G1", "C11", "C12"}
CASES: dict[str, dict] = {
    "dot-dot code": dict(
        changes=recode("G1", "../../escaped"),
        rules={"org_code_unsafe"},
        named="'../../escaped'",
        lost=G1_SUBTREE,
        lost_now={"../../escaped", "C11", "C12"},
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "absolute code": dict(
        changes=recode("G1", "{tmp}/escaped-absolute"),
        rules={"org_code_unsafe"},
        named="'{tmp}/escaped-absolute'",
        lost=G1_SUBTREE,
        lost_now={"{tmp}/escaped-absolute", "C11", "C12"},
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "NUL byte": dict(
        changes=recode("G1", "G\x001"),
        rules={"org_code_unsafe"},
        named="'G\\x001'",
        lost=G1_SUBTREE,
        lost_now={"G\x001", "C11", "C12"},
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "Windows characters": dict(
        changes=recode("G1", 'A<B>:"|?*'),
        rules={"org_code_unsafe"},
        named="'A<B>:\"|?*'",
        lost=G1_SUBTREE,
        lost_now={'A<B>:"|?*', "C11", "C12"},
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "device name CON": dict(
        changes=recode("G2", "CON"),  # a cell with members: its members are in a cell outside the tree
        rules={"org_code_unsafe", "cell_not_in_tree"},
        named="'CON'",
        lost={"G2"},
        lost_now={"CON"},
        unchanged=["G1", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "cycle at the root": dict(
        changes=parent("P", "U1"),  # P parent U1, U1 parent P: no root at all
        rules={"tree_cycle"},
        named="P → U1 → P",
        lost=set(ALL),
        lost_now=set(ALL),
        unchanged=["G1", "G2", "U2", "G3", "G4"],
        above=[],
    ),
    "small cycle": dict(
        changes=parent("G1", "C11"),  # G1 parent C11, C11 parent G1; C11's members: a cell outside
        rules={"tree_cycle", "cell_not_in_tree"},
        named="G1 → C11 → G1",
        lost=G1_SUBTREE,
        lost_now=G1_SUBTREE,
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "orphan": dict(
        changes=parent("G1", "ZZ"),
        rules={"tree_orphan"},
        named="'ZZ'",
        lost=G1_SUBTREE,
        lost_now=G1_SUBTREE,
        unchanged=["G2", "U2", "G3", "G4"],
        above=["P", "U1"],
    ),
    "members of a cell missing from the tree": dict(
        changes=[("UPDATE members SET cell_code = 'C99' WHERE cell_code = 'C41'", ())],
        rules={"cell_not_in_tree"},
        named="'C99'",
        lost={"C41"},
        lost_now={"C99"},
        unchanged=["U1", "G1", "G2", "G3"],
        above=["P", "U2", "G4"],
    ),
}


def build_central(path: Path, changes: list[tuple] = ()) -> Path:
    con = sqlite3.connect(path)
    for table, columns in CENTRAL_TABLES.items():
        con.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
    con.executemany("INSERT INTO organizations VALUES (?, ?, ?, ?, 1)", [(c, n, k, p) for c, n, k, p in TREE])
    members = []
    for i, cell in enumerate(CELLS):
        for j in range(2):
            code = f"93{i:02d}{j:06d}"
            members.append(
                (code, f"Nguyễn Văn {cell}{j}", "Nam", f"1980-05-0{j + 1}", None, f"HS{code}")
                + (f"T{code}", "2005-01-03", "2005-01-10", "2006-01-10", cell, "active", None, "2026-01-01")
            )
    con.executemany(f"INSERT INTO members VALUES ({', '.join('?' * 14)})", members)
    for sql, args in changes:
        con.execute(sql, args)
    con.commit()
    con.close()
    return path


def run(base: Path, changes: list[tuple] = ()) -> Path:
    from flows.nightly import nightly_reconciliation

    (base / "in" / "submissions").mkdir(parents=True)
    central = build_central(base / "in" / "central.sqlite", changes)
    out = base / "out" / "a" / "b"
    nightly_reconciliation(
        central=f"sqlite:///{central}",
        submissions=str(base / "in" / "submissions"),
        out=str(out),
        as_of=AS_OF,
    )
    return out


def workbook(out: Path, code: str) -> Path:
    return out / "committees" / code / f"{code}.xlsx"


def values(path: Path) -> list:
    wb = openpyxl.load_workbook(path)
    return [(ws.title, [[c.value for c in row] for row in ws.iter_rows()]) for ws in wb.worksheets]


def finding_ids(path: Path) -> set[str]:
    """The finding ids listed on every list sheet of a workbook."""
    ids: set[str] = set()
    for ws in openpyxl.load_workbook(path).worksheets:
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        for i, row in enumerate(rows):
            if COLUMN_HEADERS["finding_id"] in row:
                col = row.index(COLUMN_HEADERS["finding_id"])
                ids |= {r[col] for r in rows[i + 1 :] if len(r) > col and r[col]}
                break
    return ids


def findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)


def files_outside(root: Path, out: Path) -> set[Path]:
    inside = (root / "in", root / "out" / "a" / "b")
    return {p for p in root.rglob("*") if not any(p == d or d in p.parents for d in inside)} - {
        root / "out",
        root / "out" / "a",
    }


@pytest.fixture(scope="module")
def clean(prefect_harness, tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("clean"))


def test_clean_run_places_every_finding(clean: Path) -> None:
    summary = json.loads((clean / "summary.json").read_text(encoding="utf-8"))
    assert summary["committee_workbooks"]["unplaced"] == 0
    assert not workbook(clean, BOARD_CODE).exists()
    assert set(findings(clean)["org_code"]) == set(CELLS)
    assert finding_ids(workbook(clean, "P")) == set(findings(clean)["finding_id"])


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_tree(name: str, clean: Path, tmp_path: Path) -> None:
    case = {
        k: (v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v) for k, v in CASES[name].items()
    }
    changes = [
        (sql, tuple(str(a).replace("{tmp}", str(tmp_path)) for a in args)) for sql, args in case["changes"]
    ]
    lost_now = {c.replace("{tmp}", str(tmp_path)) for c in case["lost_now"]}

    out = run(tmp_path, changes)  # completes: no exception, exit 0 from the CLI

    # One line per fault, naming the organisation (or the cell).
    q = pd.read_csv(out / "quarantine.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    central = q[q["source"].str.startswith("central.")]
    assert set(central["rule"]) == case["rules"], central
    # (a message prints at most 80 characters of a code: a long temporary path is cut)
    named = case["named"][:70]
    assert central["message"].str.contains(named, regex=False).any(), central["message"].tolist()
    assert "\x00" not in (out / "quarantine.csv").read_text(encoding="utf-8-sig")

    # Nothing outside out: the hostile codes wrote no file anywhere else.
    assert files_outside(tmp_path, out) == set()
    assert not (tmp_path / "escaped-absolute").exists() and not (tmp_path / "out" / "escaped.xlsx").exists()

    # The committees away from the fault publish exactly what they did on the clean run.
    for code in case["unchanged"]:
        assert values(workbook(out, code)) == values(workbook(clean, code)), code

    # Above the fault: the clean lists less the fault's findings; those are the board's, all of them.
    before, now = findings(clean), findings(out)
    lost_before = set(before.loc[before["org_code"].isin(case["lost"]), "finding_id"])
    lost = set(now.loc[now["org_code"].isin(lost_now), "finding_id"])
    assert lost, "the fault's cells have findings"
    for code in case["above"]:
        assert finding_ids(workbook(out, code)) == finding_ids(workbook(clean, code)) - lost_before, code
    assert finding_ids(workbook(out, BOARD_CODE)) == lost
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["committee_workbooks"]["unplaced"] == len(lost)
    assert summary["committee_workbooks"]["board"] == f"committees/{BOARD_CODE}/{BOARD_CODE}.xlsx"
    # Every finding of findings.csv is in some workbook: never dropped.
    listed = set().union(*(finding_ids(p) for p in (out / "committees").glob("*/*.xlsx")))
    assert set(now["finding_id"]) <= listed


def test_board_list_is_emptied_when_the_fault_is_fixed(prefect_harness, tmp_path: Path) -> None:
    out = run(tmp_path / "night1", CASES["orphan"]["changes"])
    assert finding_ids(workbook(out, BOARD_CODE))
    # The next night on the same output folder, the tree repaired.
    from flows.nightly import nightly_reconciliation

    central = build_central(tmp_path / "fixed.sqlite")
    nightly_reconciliation(
        central=f"sqlite:///{central}",
        submissions=str(tmp_path / "night1" / "in" / "submissions"),
        out=str(out),
        as_of=AS_OF,
    )
    assert finding_ids(workbook(out, BOARD_CODE)) == set()
    assert (
        json.loads((out / "summary.json").read_text(encoding="utf-8"))["committee_workbooks"]["unplaced"] == 0
    )


@pytest.mark.parametrize("code", ["../../escaped", "/etc/x", "A\x00B", "CON", "a/b", "..", ""])
def test_committee_paths_refuse_unsafe_codes(tmp_path: Path, code: str) -> None:
    with pytest.raises(UnsafeCommitteePath):
        committee_workbook_path(tmp_path, code)


def test_committee_paths_stay_inside_out_even_through_a_symlink(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "committees").mkdir(parents=True)
    assert committee_workbook_path(out, "93.001.000.001.000") == (
        out / "committees" / "93.001.000.001.000" / "93.001.000.001.000.xlsx"
    )
    (tmp_path / "elsewhere").mkdir()
    (out / "committees" / "G1").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeCommitteePath):
        committee_workbook_path(out, "G1")
    assert committee_workbook_path(out, BOARD_CODE).parent.name == BOARD_CODE
