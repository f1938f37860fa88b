"""Committee workbooks: subtree isolation, Vietnamese layout, skip-unchanged, atomic publication."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from publish_data import AS_OF
from python_calamine import CalamineWorkbook

from connectors.publish import xlsx
from connectors.publish._workbook import HEADER_ROW, SUMMARY_SHEET, write_batch
from connectors.publish.labels import COLUMN_HEADERS, LIST_SHEET_NAMES, LIST_TITLES
from connectors.publish.xlsx import ancestor_pairs, committee_workbook_path, write_committee_workbooks
from schemas.contract import LIST_CODES

PUBLISHED = ["P", "U1", "U2", "G1", "G2", "G3"]
SUBTREE_CELLS = {
    "P": {"C1", "C2", "C3", "C4", "G1", "G2", "G3", "U1", "U2", "P"},
    "U1": {"C1", "C2", "G1", "G2", "U1"},
    "U2": {"C3", "C4", "G3", "U2"},
    "G1": {"C1", "C2", "G1"},
    "G2": {"G2"},
    "G3": {"C3", "C4", "G3"},
}


def read_lists(path: Path) -> dict[str, list[dict]]:
    """Sheet name -> rows as {Vietnamese header: value}, for every list sheet."""
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        if name == SUMMARY_SHEET:
            continue
        rows = wb.get_sheet_by_name(name).to_python()
        header = rows[HEADER_ROW]
        out[name] = [dict(zip(header, r, strict=True)) for r in rows[HEADER_ROW + 1 :]]
    return out


def snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted((out / "committees").rglob("*"))
        if p.is_file()
    }


def test_ancestor_pairs_and_cycle_guard(orgs: pd.DataFrame) -> None:
    pairs = ancestor_pairs(orgs)
    for committee, members in SUBTREE_CELLS.items():
        assert set(pairs.loc[pairs["ancestor"] == committee, "org_code"]) == members
    cyclic = pd.DataFrame({"org_code": ["A", "B"], "parent_code": ["B", "A"]})
    assert set(map(tuple, ancestor_pairs(cyclic).to_numpy())) == {
        ("A", "A"),
        ("B", "B"),
        ("A", "B"),
        ("B", "A"),
    }


def test_every_committee_gets_exactly_its_subtree(tmp_path: Path, orgs, findings) -> None:
    result = write_committee_workbooks(findings, orgs, tmp_path, AS_OF, workers=1)
    assert result["total"] == result["written"] == len(PUBLISHED)
    assert sorted(result["files"]) == sorted(PUBLISHED)
    for code in PUBLISHED:
        path = committee_workbook_path(tmp_path, code)
        assert path.exists() and result["files"][code] == path.relative_to(tmp_path).as_posix()
        lists = read_lists(path)
        rows = [r for sheet in lists.values() for r in sheet]
        allowed = SUBTREE_CELLS[code]
        # No member of another subtree: member codes carry their cell (M-<cell>-nn).
        for r in rows:
            assert r[COLUMN_HEADERS["org_code"]] in allowed
            member = r.get(COLUMN_HEADERS["member_code"]) or ""
            if member:
                assert member.split("-")[1] in allowed, (code, member)
        expected = findings[findings["org_code"].isin(allowed)]
        assert sorted(r[COLUMN_HEADERS["finding_id"]] for r in rows) == sorted(expected["finding_id"])


def test_layout_vietnamese_headers_dates_print(tmp_path: Path, orgs, findings) -> None:
    write_committee_workbooks(findings, orgs, tmp_path, AS_OF, workers=1)
    path = committee_workbook_path(tmp_path, "P")
    wb = openpyxl.load_workbook(path)
    present = [c for c in LIST_CODES if c in set(findings["list_code"])]
    assert wb.sheetnames == [SUMMARY_SHEET, *[LIST_SHEET_NAMES[c] for c in present]]
    from connectors.publish.answer_columns import HEADERS as ANSWER_HEADERS

    vietnamese = set(COLUMN_HEADERS.values()) | {"STT"} | set(ANSWER_HEADERS)  # answer columns (#20)
    for code in present:
        ws = wb[LIST_SHEET_NAMES[code]]
        assert len(ws.title) <= 31
        assert ws["A1"].value == LIST_TITLES[code]
        header = [c.value for c in ws[HEADER_ROW + 1]]
        assert header[0] == "STT" and set(header) <= vietnamese
        assert ws.freeze_panes == f"A{HEADER_ROW + 2}"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{HEADER_ROW + 1}:")
        assert ws.page_setup.orientation == "landscape"
        # fitToWidth=1 is the default (xlsxwriter omits it); fitToHeight=0: as many pages as needed.
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight in (0, "0")
        assert ws.print_title_rows == f"${HEADER_ROW + 1}:${HEADER_ROW + 1}"  # the header row on every page
        assert ws.column_dimensions["B"].width > 5
        seen = header.index(COLUMN_HEADERS["first_seen"]) + 1
        cell = ws.cell(HEADER_ROW + 2, seen)
        assert cell.is_date and cell.number_format == "dd/mm/yyyy"
        # Severity colouring: data rows are filled.
        assert ws.cell(HEADER_ROW + 2, 2).fill.fgColor.rgb not in (None, "00000000")
    mismatch = wb[LIST_SHEET_NAMES["ROSTER_FIELD_MISMATCH"]]
    values = {c.value for row in mismatch.iter_rows(min_row=HEADER_ROW + 2) for c in row}
    assert "14/07/1985" in values and "1985-07-14" not in values  # ISO dates shown dd/mm/yyyy
    assert "Ngày sinh" in values  # field names in Vietnamese
    overdue = wb[LIST_SHEET_NAMES["TRANSFER_OVERDUE"]]
    header = [c.value for c in overdue[HEADER_ROW + 1]]
    due = overdue.cell(HEADER_ROW + 2, header.index(COLUMN_HEADERS["due_date"]) + 1)
    assert due.is_date and due.value.strftime("%d/%m/%Y") == "20/02/2025"
    summary = [[c.value for c in row] for row in wb[SUMMARY_SHEET].iter_rows()]
    flat = [v for row in summary for v in row if v is not None]
    assert "Lập ngày: 05/03/2025" in flat
    assert "Phát hiện chưa khắc phục lâu nhất từ ngày: 10/01/2025" in flat
    n_new = int((findings["status"] == "new").sum())
    assert any(isinstance(v, str) and f"mới kể từ lần đối chiếu trước: {n_new};" in v for v in flat)
    assert LIST_TITLES["ROSTER_MISSING_IN_CELL"] in flat
    assert "Theo tổ chức cơ sở đảng" in flat  # the province sees its grassroots organisations


def test_list_titles_cover_every_list() -> None:
    assert set(LIST_TITLES) == set(LIST_CODES) == set(LIST_SHEET_NAMES)
    names = list(LIST_SHEET_NAMES.values())
    assert len(set(names)) == len(names) and len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") and n != SUMMARY_SHEET for n in names)


def test_unchanged_content_is_not_rewritten(tmp_path: Path, orgs, findings) -> None:
    write_committee_workbooks(findings, orgs, tmp_path, AS_OF, workers=1)
    before = snapshot(tmp_path)
    # Next night, same findings (as_of moves on): nothing is rewritten, not even the manifest.
    again = findings.assign(as_of="2025-03-06")
    result = write_committee_workbooks(again, orgs, tmp_path, "2025-03-06", workers=1)
    assert (result["written"], result["unchanged"], result["total"]) == (0, 6, 6)
    assert snapshot(tmp_path) == before
    # One finding in C3 changes: only its ancestors G3, U2, P are rewritten.
    changed = findings.copy()
    changed.loc[changed["org_code"] == "C3", "status"] = "open"
    result = write_committee_workbooks(changed, orgs, tmp_path, "2025-03-06", workers=1)
    assert (result["written"], result["unchanged"]) == (3, 3)
    after = snapshot(tmp_path)
    rewritten = {k for k in before if before[k] != after[k]}
    assert rewritten == {f"committees/{c}/{c}.xlsx" for c in ("G3", "U2", "P")} | {"committees/manifest.json"}
    manifest = json.loads((tmp_path / "committees" / "manifest.json").read_text())["committees"]
    assert manifest["G3"]["as_of"] == "2025-03-06" and manifest["G1"]["as_of"] == "2025-03-05"
    # A deleted workbook is written again even though its hash is unchanged.
    committee_workbook_path(tmp_path, "G1").unlink()
    result = write_committee_workbooks(changed, orgs, tmp_path, "2025-03-06", workers=1)
    assert result["written"] == 1 and committee_workbook_path(tmp_path, "G1").exists()


def test_failure_half_way_leaves_previous_outputs(tmp_path: Path, orgs, findings) -> None:
    write_committee_workbooks(findings, orgs, tmp_path, AS_OF, workers=1)
    before = snapshot(tmp_path)
    calls = []

    def failing_writer(jobs):
        write_batch(jobs[:2])  # two workbooks are written, then the run dies
        calls.append(len(jobs))
        raise RuntimeError("disk full")

    changed = findings.assign(status="open")
    with pytest.raises(RuntimeError, match="disk full"):
        write_committee_workbooks(changed, orgs, tmp_path, "2025-03-06", workers=1, writer=failing_writer)
    assert calls == [6]
    assert snapshot(tmp_path) == before
    assert not list((tmp_path / "committees").glob(".staging-*"))
    # The next run publishes normally.
    result = write_committee_workbooks(changed, orgs, tmp_path, "2025-03-06", workers=1)
    assert result["written"] == 6


def test_resolved_counted_not_listed_and_unplaced(tmp_path: Path, orgs, findings) -> None:
    df = findings.copy()
    resolved = df.index[df["org_code"].eq("G2") & df["list_code"].eq("BADGE_DUE")]
    df.loc[resolved, "status"] = "resolved"
    stray = df.iloc[[0]].assign(org_code="ZZ", finding_id="stray000000000000", member_code="M-ZZ-01")
    df = pd.concat([df, stray], ignore_index=True)
    result = write_committee_workbooks(df, orgs, tmp_path, AS_OF, workers=1)
    assert result["unplaced"] == 1
    for code in PUBLISHED:
        ids = {
            r[COLUMN_HEADERS["finding_id"]]
            for s in read_lists(committee_workbook_path(tmp_path, code)).values()
            for r in s
        }
        assert "stray000000000000" not in ids and not ids & set(df.loc[resolved, "finding_id"])
    g2 = openpyxl.load_workbook(committee_workbook_path(tmp_path, "G2"))
    assert LIST_SHEET_NAMES["BADGE_DUE"] not in g2.sheetnames
    flat = [c.value for row in g2[SUMMARY_SHEET].iter_rows() for c in row]
    assert (
        LIST_SHEET_NAMES["BADGE_DUE"] in flat
        and "BADGE_DUE" not in flat
        and any(isinstance(v, str) and "đã khắc phục kể từ lần trước: 1" in v for v in flat)
    )


def test_text_is_never_a_formula_and_empty_committees_get_a_workbook(tmp_path: Path, orgs, findings) -> None:
    df = findings.copy()
    df.loc[df.index[0], "detail"] = '=HYPERLINK("http://example.invalid","x")'
    df = df[~df["org_code"].isin(["C3", "C4", "G3"])]
    result = write_committee_workbooks(df, orgs, tmp_path, AS_OF, workers=1)
    assert result["total"] == 6  # G3 has nothing to do and still gets its (empty) workbook
    g3 = openpyxl.load_workbook(committee_workbook_path(tmp_path, "G3"))
    assert g3.sheetnames == [SUMMARY_SHEET]
    p = openpyxl.load_workbook(committee_workbook_path(tmp_path, "P"))
    cells = [
        c
        for ws in p.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells and all(c.data_type == "s" for c in cells)


def test_parallel_writer(tmp_path: Path, orgs, findings, monkeypatch) -> None:
    monkeypatch.setattr(xlsx, "MIN_PARALLEL_JOBS", 1)
    result = write_committee_workbooks(findings, orgs, tmp_path, AS_OF, workers=2)
    assert result["written"] == 6
    serial = tmp_path / "serial"
    write_committee_workbooks(findings, orgs, serial, AS_OF, workers=1)
    for code in PUBLISHED:
        assert read_lists(committee_workbook_path(tmp_path, code)) == read_lists(
            committee_workbook_path(serial, code)
        )
