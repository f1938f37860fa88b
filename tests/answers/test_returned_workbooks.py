"""connectors/responses.py on real files: committee workbooks written by the publisher, answered
with openpyxl, read back into a real SQLite results database. Each fault is one line; nothing lost."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from connectors.answers import AnswerStore
from connectors.publish.xlsx import committee_workbook_path, write_committee_workbooks
from connectors.responses import ingest_responses
from connectors.store import ResultsStore
from schemas.contract import FINDING_COLUMNS

AS_OF = "2026-11-16"
HEADER_ROW = 4


def _orgs() -> pd.DataFrame:
    rows = [
        ("P", "Đảng bộ tỉnh", "province", None),
        ("G1", "Đảng bộ xã An Bình", "grassroots_committee", "P"),
        ("G2", "Đảng bộ xã Phú Lợi", "grassroots_committee", "P"),
        ("C1", "Chi bộ thôn 1", "cell", "G1"),
        ("C2", "Chi bộ thôn 2", "cell", "G2"),
    ]
    return pd.DataFrame(rows, columns=["org_code", "name", "kind", "parent_code"]).assign(active=True)


def _findings() -> pd.DataFrame:
    rows = []
    for cell, committee in (("C1", "G1"), ("C2", "G2")):
        for i, (code, sev, field) in enumerate(
            [("ROSTER_MISSING_IN_CELL", "error", None), ("ROSTER_FIELD_MISMATCH", "warning", "full_name")] * 2
        ):
            member = f"93{cell[-1]}{i:07d}"
            key = f"{code}|{cell}|{member}|{field}"
            rows.append(
                {
                    "finding_id": hashlib.sha1(key.encode()).hexdigest()[:16],
                    "as_of": AS_OF,
                    "list_code": code,
                    "severity": sev,
                    "org_code": cell,
                    "committee_code": committee,
                    "member_code": member,
                    "field": field,
                    "central_value": "Nguyễn Văn An" if field else None,
                    "cell_value": "Nguyen Van An" if field else None,
                    "detail": "Chi tiết",
                    "rule": "HD 12",
                    "status": "new",
                    "first_seen": AS_OF,
                }
            )
    return pd.DataFrame(rows, columns=[*FINDING_COLUMNS, "ref"]).astype("string")


@pytest.fixture
def world(tmp_path: Path) -> dict:
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    store = ResultsStore(url)
    store.migrate()
    f = _findings()
    store.record_run({"run_id": "r1", "as_of": AS_OF, "period": "2026-10"}, f)
    store.dispose()
    out = tmp_path / "out"
    write_committee_workbooks(f, _orgs(), out, date(2026, 11, 16), workers=1)
    responses = tmp_path / "responses"
    responses.mkdir()
    return {"url": url, "out": out, "responses": responses, "f": f.set_index("finding_id")}


def _fill(path: Path, edits: dict[str, tuple[str | None, str | None]], sheet_of: dict | None = None) -> None:
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        head = [c.value for c in ws[HEADER_ROW]] if ws.max_row >= HEADER_ROW else []
        if "Mã phát hiện" not in head:
            continue
        fid_col, res_col = head.index("Mã phát hiện") + 1, head.index("Kết quả xử lý") + 1
        for row in range(HEADER_ROW + 1, ws.max_row + 1):
            fid = ws.cell(row, fid_col).value
            if fid in (sheet_of or {}):
                ws.cell(row, fid_col).value = sheet_of[fid]
                fid = sheet_of[fid]
            if fid in edits:
                ws.cell(row, res_col).value, ws.cell(row, res_col + 1).value = edits[fid]
    wb.save(path)


def _ingest(world) -> tuple[dict, pd.DataFrame]:
    return ingest_responses(world["responses"], world["url"], _orgs(), "2026-11-17")


def test_typed_answers_read_leniently_and_faults_are_lines(world):
    f = world["f"]
    g1 = f[f["committee_code"] == "G1"]
    ids = list(g1.index)
    path = world["responses"] / "G1.xlsx"
    shutil.copy(committee_workbook_path(world["out"], "G1"), path)
    missing = g1[g1["list_code"] == "ROSTER_MISSING_IN_CELL"].index
    mismatch = g1[g1["list_code"] == "ROSTER_FIELD_MISMATCH"].index
    _fill(
        path,
        {
            missing[0]: ("da sua tren phan mem 3.0", None),  # typed, no diacritics
            mismatch[0]: ("GIẢI TRÌNH - KHÔNG PHẢI SAI SÓT", "Đúng tên khai sinh"),  # another dash, capitals
            missing[1]: ("Đã xong rồi", None),  # not in the list
            mismatch[1]: (None, "chỉ có ghi chú"),  # no answer chosen
        },
    )
    counts, lines = _ingest(world)
    assert counts["answers"] == 2 and counts["quarantined"] == 2
    got = AnswerStore(world["url"]).answers().set_index("finding_id")
    assert got.loc[missing[0], "response"] == "fixed"
    assert got.loc[mismatch[0], "response"] == "explained"
    assert got.loc[mismatch[0], "note"] == "Đúng tên khai sinh"
    assert got.loc[mismatch[0], "committee_code"] == "G1"
    assert sorted(lines["rule"]) == ["response_isin", "response_missing"]
    assert set(lines["source"]) == {"G1.xlsx"} and (lines["row"] > HEADER_ROW).all()
    assert set(lines["_cell"]) == {"G1"}
    # The same file again: read once (by checksum), its lines come back while it stays.
    counts, again = _ingest(world)
    assert counts["files_new"] == 0 and len(again) == 2
    assert len(AnswerStore(world["url"]).answers(status=None)) == 4
    assert set(ids) >= set(got.index)


def test_rows_moved_other_committee_and_bad_files(world):
    f = world["f"]
    g1, g2 = f[f["committee_code"] == "G1"], f[f["committee_code"] == "G2"]
    mismatch = g1[g1["list_code"] == "ROSTER_FIELD_MISMATCH"].index
    missing = g1[g1["list_code"] == "ROSTER_MISSING_IN_CELL"].index
    path = world["responses"] / "sub" / "tra-loi-G1.xlsx"
    path.parent.mkdir()
    shutil.copy(committee_workbook_path(world["out"], "G1"), path)
    # A finding of another list pasted on this sheet; another committee's finding.
    _fill(
        path,
        {mismatch[0]: ("Đang xử lý", None), g2.index[0]: ("Đang xử lý", None)},
        sheet_of={missing[0]: mismatch[0], missing[1]: g2.index[0]},
    )
    (world["responses"] / "ghi-chu.xlsx").write_bytes(b"not a workbook")
    wb = openpyxl.Workbook()
    wb.active.title = "Trang 1"
    wb.save(world["responses"] / "khac.xlsx")
    counts, lines = _ingest(world)
    rules = sorted(lines["rule"])
    assert rules == ["response_changed_list", "response_file", "response_file", "response_other_committee"]
    other = lines[lines["rule"] == "response_other_committee"].iloc[0]
    assert other["value"] == g2.index[0] and "C2" in other["message"]
    assert counts["files_rejected"] == 2
    recorded = AnswerStore(world["url"]).answers()
    assert list(recorded["finding_id"]) == [mismatch[0]]  # the row on its own sheet
    assert list(recorded["response"]) == ["in_progress"]
