"""`dvsync check FILE.xlsx` and `dvsync template FILE.xlsx`, for cell secretaries.

``check_workbook`` runs exactly the validation of the nightly run on one workbook and prints,
in Vietnamese, row by row, what must be fixed. ``write_template`` writes the empty workbook of the
contract: sheets, headers, drop-down lists, date and text formats.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import pandas as pd

from connectors.workbooks import notes_frame, parse_workbook, safe_name
from schemas.contract import (
    CANDIDATE_KINDS,
    INFO_LABELS,
    INFO_SHEET,
    RATINGS,
    ROSTER_STATUSES,
    SHEETS,
    STUDENT_RATINGS,
    TRANSFER_KIND_LABELS,
)
from schemas.submission import BOOL_COLUMNS, DATE_COLUMNS

_SEVERITY = {"reject": "LỖI – dòng bị loại", "warn": "CẦN SỬA", "note": "Đã tự sửa"}


def check_workbook(path: Path | str, out: TextIO | None = None) -> int:
    """Validate one workbook and print the report. Returns 1 when something must be fixed
    (a file fault, a rejected sheet or row, a cross-field warning), else 0."""
    out = out or sys.stdout
    path = Path(path)
    res = parse_workbook(path)

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"Kiểm tra tệp: {safe_name(path.name)}")
    if res.error:
        say(f"  LỖI: {res.error}")
        say("Kết quả: tệp chưa dùng được — sửa lỗi trên rồi kiểm tra lại.")
        return 1
    meta = res.meta
    created = meta.get("created_on")
    created_text = pd.Timestamp(created).strftime("%d/%m/%Y") if pd.notna(created) else "(trống)"
    period = meta["period"]
    say(f"  Chi bộ {meta['cell_code']}, kỳ {period[5:]}/{period[:4]}, ngày lập {created_text}")
    say(
        f"  Tên tệp/thư mục có mã chi bộ {meta['cell_code']}: đúng quy tắc (mỗi chi bộ chỉ gửi báo cáo "
        "của mình; tệp mang mã chi bộ khác bị loại)"
    )
    for sheet, n in meta["rows_read"].items():
        say(
            f"  Sheet {sheet}: {n} dòng đọc, {meta['rows_accepted'][sheet]} dòng nhận, "
            f"{meta['rows_quarantined'][sheet]} dòng bị loại"
        )
    must_fix = bool(meta.get("must_fix")) or bool(meta.get("rejected_sheets"))
    for w in meta.get("warnings", []):
        say(f"  ! {w}")
    q = res.quarantine.assign(severity="reject")
    notes = notes_frame(res)
    lines = pd.concat([x for x in (q, notes) if len(x)], ignore_index=True) if len(q) + len(notes) else q
    if len(lines):
        order = {s: i for i, s in enumerate(SHEETS)}
        lines = lines.assign(
            _s=lines["sheet"].map(order), _v=lines["severity"].map({"reject": 0, "warn": 1, "note": 2})
        )
        lines = lines.sort_values(["_s", "row", "_v"], kind="stable")
        current = None
        for rec in lines.itertuples(index=False):
            if rec.sheet != current:
                current = rec.sheet
                say(f"\nSheet {current}:")
            say(f"  [{_SEVERITY.get(rec.severity, rec.severity)}] {rec.message}")
    must_fix = must_fix or len(q) > 0 or bool((notes["severity"] == "warn").any() if len(notes) else False)
    say("")
    if must_fix:
        say("Kết quả: CẦN SỬA — sửa các dòng trên rồi chạy lại: dvsync check " + safe_name(path.name))
        return 1
    say("Kết quả: tệp hợp lệ, có thể gửi.")
    return 0


# --- template ------------------------------------------------------------------------------------
_YES_NO = ["Có", "Không"]
_CANDIDATE_RATINGS = [*(f"{c}" for c in RATINGS), *STUDENT_RATINGS]
# column -> name of the list on the hidden DanhMuc sheet
_LISTS: dict[str, list[str]] = {
    "gender": ["Nam", "Nữ"],
    "roster_status": list(ROSTER_STATUSES),
    "yes_no": _YES_NO,
    "rating": RATINGS,
    "kind": list(TRANSFER_KIND_LABELS),
    "candidate_kind": list(CANDIDATE_KINDS),
    "candidate_rating": _CANDIDATE_RATINGS,
}
_COLUMN_LIST = {
    "gender": "gender",
    "roster_status": "roster_status",
    "rating": "rating",
    "kind": "kind",
    "candidate_kind": "candidate_kind",
    "rating_y1": "candidate_rating",
    "rating_y2": "candidate_rating",
    "rating_y3": "candidate_rating",
    **dict.fromkeys(BOOL_COLUMNS, "yes_no"),
}
LIST_SHEET = "DanhMuc"
TEMPLATE_ROWS = 1000


def write_template(path: Path | str) -> Path:
    """An empty submission workbook: ThongTin, every data sheet with its headers, drop-down lists
    (from a hidden DanhMuc sheet), dd/mm/yyyy date cells and text cells for codes and IDs."""
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    text = wb.add_format({"num_format": "@"})
    date = wb.add_format({"num_format": "dd/mm/yyyy"})

    info = wb.add_worksheet(INFO_SHEET)
    info.set_column(0, 0, 22)
    info.set_column(1, 1, 30, text)
    hints = {
        "cell_code": "ví dụ 93.015.000.001.002 — nên đặt mã này trong tên tệp (hoặc thư mục chứa tệp), "
        "ví dụ 93.015.000.001.002_2026-10.xlsx; tệp mang mã chi bộ khác bị loại",
        "period": "MM/YYYY, ví dụ 10/2026",
        "created_on": "dd/mm/yyyy",
        "secretary": "họ và tên",
    }
    for i, (label, key) in enumerate(INFO_LABELS.items()):
        info.write_string(i, 0, label, head)
        if key == "created_on":
            info.write_blank(i, 1, None, date)
            info.data_validation(
                i,
                1,
                i,
                1,
                {
                    "validate": "date",
                    "criteria": ">=",
                    "value": pd.Timestamp("2000-01-01").to_pydatetime(),
                    "error_message": "Nhập ngày dạng dd/mm/yyyy",
                },
            )
        info.write_comment(i, 1, hints[key])

    lists = wb.add_worksheet(LIST_SHEET)
    refs: dict[str, str] = {}
    for j, (name, values) in enumerate(_LISTS.items()):
        lists.write_string(0, j, name)
        for i, v in enumerate(values):
            lists.write_string(i + 1, j, v)
        col = xlsxwriter.utility.xl_col_to_name(j)
        refs[name] = f"={LIST_SHEET}!${col}$2:${col}${len(values) + 1}"
    lists.hide()

    for sheet, columns in SHEETS.items():
        ws = wb.add_worksheet(sheet)
        ws.freeze_panes(1, 0)
        for j, (header, internal) in enumerate(columns.items()):
            ws.write_string(0, j, header, head)
            width = max(14, min(30, len(header) + 4))
            if internal in DATE_COLUMNS:
                ws.set_column(j, j, width, date)
                ws.data_validation(
                    1,
                    j,
                    TEMPLATE_ROWS,
                    j,
                    {
                        "validate": "date",
                        "criteria": "between",
                        "minimum": pd.Timestamp("1900-01-01").to_pydatetime(),
                        "maximum": pd.Timestamp("2100-12-31").to_pydatetime(),
                        "error_title": "Ngày không hợp lệ",
                        "error_message": "Nhập ngày dạng dd/mm/yyyy (ví dụ 05/04/2020)",
                    },
                )
            elif internal in _COLUMN_LIST:
                ws.set_column(j, j, width, text)
                ws.data_validation(
                    1,
                    j,
                    TEMPLATE_ROWS,
                    j,
                    {
                        "validate": "list",
                        "source": refs[_COLUMN_LIST[internal]],
                        "error_title": "Giá trị không có trong danh sách",
                        "error_message": "Chọn một giá trị trong danh sách thả xuống",
                    },
                )
            elif internal in ("year", "category"):
                ws.set_column(j, j, width)
                low, high = (1, 4) if internal == "category" else (1930, 2100)
                ws.data_validation(
                    1,
                    j,
                    TEMPLATE_ROWS,
                    j,
                    {
                        "validate": "integer",
                        "criteria": "between",
                        "minimum": low,
                        "maximum": high,
                        "error_message": f"Nhập số nguyên từ {low} đến {high}",
                    },
                )
            else:
                ws.set_column(j, j, width, text)  # free text and codes: keep leading zeros
            if internal in ("month", "fees_paid_through"):
                ws.write_comment(0, j, "Ghi dạng MM/YYYY, ví dụ 10/2026")
            if internal == "personal_id":
                ws.write_comment(0, j, "12 chữ số, giữ số 0 ở đầu (ô dạng Văn bản)")
    wb.close()
    return path
