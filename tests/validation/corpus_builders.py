"""Programmatic builders of cell workbooks and central tables for the malformed corpus."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from schemas.contract import CENTRAL_TABLES, SHEETS

CELL = "93.015.000.001.002"
PERIOD_TEXT = "10/2026"

GOOD_ROSTER = [
    # Mã đảng viên, Họ và tên, Ngày sinh, Giới tính, Số CCCD, Ngày vào Đảng, Ngày chính thức, Tình trạng
    [
        "0001001",
        "Nguyễn Văn An",
        "05/04/1980",
        "Nam",
        "001080123456",
        "03/02/2010",
        "03/02/2011",
        "Đang sinh hoạt",
    ],
    [
        "0001002",
        "Trần Thị Bình",
        "12/11/1985",
        "Nữ",
        "079185000111",
        "19/05/2012",
        "19/05/2013",
        "Đang sinh hoạt",
    ],
    ["0001003", "Lê Hoàng Cường", "01/01/1990", "Nam", "036090000222", "02/09/2015", "", "Miễn sinh hoạt"],
]


def info_rows(
    cell: Any = CELL, period: Any = PERIOD_TEXT, created: Any = "05/11/2026", secretary: str = "Phạm Văn Dũng"
) -> list[list[Any]]:
    return [["Mã chi bộ", cell], ["Kỳ báo cáo", period], ["Ngày lập", created], ["Bí thư chi bộ", secretary]]


def headers(sheet: str) -> list[str]:
    return list(SHEETS[sheet])


def write_workbook(
    path: Path,
    sheets: dict[str, list[list[Any]]] | None = None,
    info: list[list[Any]] | None = None,
    roster: list[list[Any]] | None = None,
    text_ids: bool = True,
    merge_header: str | None = None,
    formulas: bool = False,
    formula_text: bool = True,
) -> Path:
    """A workbook as a cell would send it. ``sheets`` maps sheet name -> rows (first row = header);
    values: str written as text (text_ids) , numbers as numbers, dates as Excel dates."""
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    all_sheets: dict[str, list[list[Any]]] = {}
    if info is not False:
        all_sheets["ThongTin"] = info if info is not None else info_rows()
    if roster is not False:
        all_sheets["DanhSach"] = [headers("DanhSach"), *(roster if roster is not None else GOOD_ROSTER)]
    all_sheets.update(sheets or {})
    for name, rows in all_sheets.items():
        if rows is None:
            continue
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.datetime | dt.date):
                    ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, str) and v.startswith("=") and formula_text:
                    ws.write_formula(i, j, v)
                elif isinstance(v, str):
                    ws.write_string(i, j, v)
                else:
                    ws.write(i, j, v)
        if merge_header == name:
            ws.merge_range(0, 0, 0, 1, rows[0][0])
    if formulas:
        ws = wb.get_worksheet_by_name("DanhSach")
        ws.write_formula(len(all_sheets["DanhSach"]), 0, '="000"&"1099"', None, "0001099")
        ws.write_string(len(all_sheets["DanhSach"]), 1, "Đỗ Văn Công")
    wb.close()
    return path


def central_frames(members: list[dict] | None = None, **tables: list[dict]) -> dict[str, pd.DataFrame]:
    """Central tables as SQL would hand them over (strings, ISO dates)."""
    base_member = {
        "member_code": "0001001",
        "full_name": "Nguyễn Văn An",
        "gender": "Nam",
        "birth_date": "1980-04-05",
        "personal_id": "001080123456",
        "dossier_no": "123456HN",
        "card_no": "12345678",
        "admission_decision_date": "2010-01-20",
        "admission_date": "2010-02-03",
        "official_date": "2011-02-03",
        "cell_code": CELL,
        "status": "active",
        "status_date": None,
        "updated_at": "2025-01-01",
    }
    out: dict[str, pd.DataFrame] = {}
    rows = [base_member | m for m in (members if members is not None else [{}])]
    out["members"] = pd.DataFrame(rows, columns=CENTRAL_TABLES["members"])
    out["organizations"] = pd.DataFrame(
        [
            {
                "org_code": "93.015.000.001.000",
                "name": "Đảng bộ Cơ quan",
                "kind": "grassroots_committee",
                "parent_code": None,
                "active": 1,
            },
            {
                "org_code": CELL,
                "name": "Chi bộ 2",
                "kind": "cell",
                "parent_code": "93.015.000.001.000",
                "active": 1,
            },
        ]
    )
    for t, rows in tables.items():
        out[t] = pd.DataFrame(rows, columns=CENTRAL_TABLES[t])
    return out
