"""Writes one committee workbook with xlsxwriter (runs inside worker processes).

Imports only the standard library, xlsxwriter and the labels, so that a spawned worker starts
fast. The caller (``xlsx.py``) does the pandas work and hands each committee over as a plain
``WorkbookJob`` dict of Python values.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any, TypedDict

import xlsxwriter

from connectors.publish import answer_columns
from connectors.publish.labels import (
    COLUMN_HEADERS,
    LIST_SHEET_NAMES,
    LIST_TITLES,
    LISTS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    SUBJECT_HEADERS,
    column_label,
    field_label,
    value_label,
    vn_number,
)

# Columns handed over per finding, in this order (tuples keep the pickles small).
ROW_COLUMNS = [
    "list_code",
    "severity",
    "status",
    "org_code",
    "committee_code",
    "member_code",
    "field",
    "central_value",
    "cell_value",
    "due_date",
    "detail",
    "rule",
    "first_seen",
    "finding_id",
    # The committee's last answer (issue #20; connectors/publish/answer_columns.py).
    "response",
    "response_note",
    "responded_on",
    "facts_changed",
]
# Columns of a list sheet, after "STT"; the optional ones are left out when empty on that sheet.
# A list has one severity: it is printed in the sheet's second line, not repeated on every row.
SHEET_COLUMNS = [
    "status",
    "committee_code",
    "org_code",
    "org_name",
    "member_code",
    "field",
    "central_value",
    "cell_value",
    "due_date",
    "detail",
    "first_seen",
    "finding_id",
]
OPTIONAL_COLUMNS = {"committee_code", "member_code", "field", "central_value", "cell_value", "due_date"}
DATE_COLUMNS = {"due_date", "first_seen"}
WRAP_COLUMNS = {"detail", "org_name", "field", "central_value", "cell_value", "status"}
# (min, max) width in characters; the content decides within these bounds; longer text wraps
# (row heights below). A4 landscape holds some 145 width units at 100 % (narrow margins); a sheet
# of PRINT_WIDTH units prints one page wide at about 65 %, 11 pt text as 7 pt: the detail
# column takes what the other columns (the answer columns of issue #20 included) leave of it.
WIDTHS: dict[str, tuple[int, int]] = {
    "severity": (9, 10),
    "status": (8, 9),
    "committee_code": (12, 19),
    "org_code": (12, 19),
    "org_name": (12, 16),
    "member_code": (11, 14),
    "field": (10, 14),
    "central_value": (10, 19),
    "cell_value": (10, 19),
    "due_date": (11, 11),
    "detail": (30, 60),
    "first_seen": (11, 11),
    "finding_id": (17, 17),
}
# Row heights (points): a line of Times New Roman 11 takes 12.7 pt in LibreOffice, about 14 in
# Excel; a wrapped cell's lines are estimated from its text and its column's width (greedy word
# wrap; a width unit, the "0" of the default Calibri 11, holds about one character of Times New
# Roman 11 in mixed Vietnamese text: measured by rendering, tests/publish/test_print.py).
PRINT_WIDTH = 225
LINE_PT = 14.0
ROW_PAD_PT = 3.0
CHARS_PER_UNIT = 1.0
# Vietnamese grouping of whole numbers whatever the reader's locale (3005 -> 3.005).
VN_INT_FORMAT = r"[>=1000000]#\.###\.##0;[>=1000]#\.##0;0"
SEVERITY_FILL = {"error": "#F8D7DA", "warning": "#FFF3CD", "info": "#DDEBF7"}
SEVERITY_TAB = {"error": "#C00000", "warning": "#E0A800", "info": "#2F75B5"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUMMARY_SHEET = "Tổng hợp"
# Rows above the list header: title, source and date line, blank.
HEADER_ROW = 3
# Above this many rows, stream to disk (xlsxwriter constant_memory); below, in-memory is faster.
CONSTANT_MEMORY_ROWS = 5000


class WorkbookJob(TypedDict):
    org_code: str
    org_name: str
    as_of: str  # ISO date the workbook is prepared on
    path: str  # where to write (a staging folder)
    rows: list[tuple]  # ROW_COLUMNS values, open findings, in display order
    resolved: dict[str, int]  # list code -> findings resolved since the last run
    names: dict[str, str]  # org code -> name, for the codes in rows
    list_order: list[str]  # list codes in publication order
    # Quarantine lines of the cells' own workbooks in this subtree (issue #15): SUBMISSION_COLUMNS
    # values; optional (absent or empty: no sheet).
    submission_lines: list[tuple]
    # The board's workbook (a root committee's, issue #20): its answer drop-down can accept an
    # explanation; optional (absent: False).
    board: bool


SUBMISSION_COLUMNS = ["cell_code", "source", "sheet", "row", "column", "severity", "message", "value"]
SUBMISSION_SHEET = "Lỗi bảng nộp"
_SUBMISSION_HEADERS = {
    "cell_code": "Chi bộ",
    "source": "Tệp",
    "sheet": "Sheet",
    "row": "Dòng",
    "column": "Cột",
    "severity": "Mức độ",
    "message": "Nội dung cần sửa",
    "value": "Giá trị (đã che)",
}
_SUBMISSION_WIDTHS = {
    "cell_code": 20,
    "source": 30,
    "sheet": 11,
    "row": 7,
    "column": 16,
    "severity": 10,
    "message": 70,
    "value": 16,
}
_LINE_SEVERITY = {"error": "Bị loại", "warning": "Cần sửa"}


def to_ddmmyyyy(value: str | None) -> str:
    """ISO date text -> dd/mm/yyyy; anything else unchanged."""
    if value and ISO_DATE.match(value):
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    return value or ""


def _parse_iso(value: str | None) -> datetime | None:
    if value and ISO_DATE.match(value[:10]):
        try:
            d = date.fromisoformat(value[:10])
        except ValueError:
            return None
        return datetime(d.year, d.month, d.day)
    return None


def _escape_header(text: str) -> str:
    # '&' starts a control code in Excel headers and footers; they are limited to 255 characters.
    return text.replace("&", "&&")[:100]


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        base = {"font_name": "Times New Roman", "font_size": 11, "valign": "top"}
        border = {"border": 1, "border_color": "#A6A6A6"}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.subtitle = wb.add_format({**base, "italic": True})
        self.text = wb.add_format(base)
        self.bold = wb.add_format({**base, "bold": True})
        self.header_left = wb.add_format(
            {**base, **border, "bold": True, "bg_color": "#D9D9D9", "text_wrap": True, "valign": "vcenter"}
        )
        self.header = wb.add_format(
            {
                **base,
                **border,
                "bold": True,
                "bg_color": "#D9D9D9",
                "text_wrap": True,
                "align": "center",
                "valign": "vcenter",
            }
        )
        self.cell = wb.add_format({**base, **border})
        self.cell_num = wb.add_format({**base, **border, "align": "right", "num_format": VN_INT_FORMAT})
        self.cell_date = wb.add_format({**base, **border, "num_format": "dd/mm/yyyy", "align": "center"})
        self.link = wb.add_format({**base, **border, "font_color": "#0563C1", "underline": 1})
        self.link_wrap = wb.add_format(
            {**base, **border, "font_color": "#0563C1", "underline": 1, "text_wrap": True}
        )
        self.total = wb.add_format({**base, **border, "bold": True, "bg_color": "#F2F2F2"})
        self.total_num = wb.add_format(
            {**base, **border, "bold": True, "bg_color": "#F2F2F2", "num_format": VN_INT_FORMAT}
        )
        # Row formats per severity, made on first use (formats cost time per workbook).
        self._wb, self._base, self._border = wb, base, border
        self.row = _RowFormats(self)


class _RowFormats(dict):
    """(severity, kind) -> format; the fill carries the severity on screen and on a colour print."""

    def __init__(self, owner: _Formats) -> None:
        super().__init__()
        self.owner = owner

    def __missing__(self, key: tuple[str, str]) -> Any:
        sev, kind = key
        o = self.owner
        common = {**o._base, **o._border, "bg_color": SEVERITY_FILL.get(sev, "#FFFFFF")}
        extra: dict[str, Any] = {
            "text": {},
            "wrap": {"text_wrap": True},
            "num": {"align": "right", "num_format": VN_INT_FORMAT},
            "date": {"num_format": "dd/mm/yyyy", "align": "center"},
            "new": {"bold": True, "font_color": "#C00000", "text_wrap": True},
        }[kind]
        fmt = o._wb.add_format({**common, **extra})
        self[key] = fmt
        return fmt


def _print_setup(ws: Any, org_name: str, title: str, header_row: int | None) -> None:
    """A4 landscape, one page wide, narrow margins; the table's header row (``header_row``)
    printed again at the top of every page; organisation, list and page number in the margins."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_margins(left=0.25, right=0.25, top=0.55, bottom=0.5)
    ws.center_horizontally()
    if header_row is not None:
        ws.repeat_rows(header_row)
    ws.set_header(f"&L&8{_escape_header(org_name)}&R&8{_escape_header(title)}", margin=0.2)
    ws.set_footer("&C&8Trang &P/&N", margin=0.2)


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped cell of ``width`` (Excel character units) needs for ``text``: greedy word
    wrap on an estimated number of characters per line; explicit line breaks kept."""
    capacity = max(1, int((width - 1) * CHARS_PER_UNIT))
    lines = 0
    for para in (text or "").split("\n"):
        n, used = 1, 0
        for word in para.split():
            size = len(word)
            while size > capacity:  # a word longer than the line breaks anywhere
                if used:
                    n, used = n + 1, 0
                size -= capacity
                n += 1
            if used == 0:
                used = size
            elif used + 1 + size <= capacity:
                used += 1 + size
            else:
                n, used = n + 1, size
        lines += n
    return max(1, lines)


def row_height(texts: list[tuple[str, float]], min_lines: int = 1) -> float:
    """Height (points) of a row whose wrapped cells hold ``texts`` (text, column width)."""
    lines = max([min_lines, *(wrapped_lines(t, w) for t, w in texts)])
    return lines * LINE_PT + ROW_PAD_PT


def _width(col: str, values: list[str], header: str) -> int:
    lo, hi = WIDTHS[col]
    longest = max((len(v) for v in values), default=0)
    head = max((len(w) for w in header.split()), default=0) + 2
    return max(lo, min(hi, max(longest + 2, head)))


def _cell_text(
    col: str, value: str | None, names: dict[str, str], org_code: str, field: str | None = None
) -> str:
    """What a person reads in a cell: Vietnamese labels for severities, statuses and fields, the
    values of a status/rating/discipline/category by their names, dd/mm/yyyy and mm/yyyy."""
    if col == "severity":
        return SEVERITY_LABELS.get(value or "", value or "")
    if col == "status":
        return STATUS_LABELS.get(value or "", value or "")
    if col == "org_name":
        return names.get(org_code, "")
    if col == "field":
        return field_label(value)
    if col in ("central_value", "cell_value"):
        return value_label(field, value)
    return value or ""


def _write_list_sheet(
    wb: xlsxwriter.Workbook, fmt: _Formats, job: WorkbookJob, code: str, rows: list[dict[str, Any]]
) -> None:
    title = LIST_TITLES.get(code, code)
    ws = wb.add_worksheet(LIST_SHEET_NAMES.get(code, code)[:31])
    severity = rows[0]["severity"] or ""
    if severity in SEVERITY_TAB:
        ws.set_tab_color(SEVERITY_TAB[severity])
    multi_committee = len({r["committee_code"] for r in rows}) > 1
    cols = [
        c
        for c in SHEET_COLUMNS
        if c not in OPTIONAL_COLUMNS
        or (c == "committee_code" and multi_committee)
        or (c != "committee_code" and any(r[c] for r in rows))
    ]
    texts = {
        c: [_cell_text(c, r.get(c), job["names"], r["org_code"], r["field"]) for r in rows] for c in cols
    }
    spec = LISTS.get(code)
    headers = {c: COLUMN_HEADERS[c] for c in cols}
    if spec is not None and "member_code" in headers:  # what identifies the subject (a masked CCCD)
        headers["member_code"] = SUBJECT_HEADERS[spec.subject]
    widths = {c: _width(c, texts[c], headers[c]) for c in cols}
    if "detail" in widths:  # the explanation takes what the page width leaves (answer columns after)
        rest = 5 + sum(w for c, w in widths.items() if c != "detail") + sum(answer_columns.WIDTHS)
        widths["detail"] = max(WIDTHS["detail"][0], min(widths["detail"], PRINT_WIDTH - rest))
    ws.set_column(0, 0, 5)
    for j, c in enumerate(cols, start=1):
        ws.set_column(j, j, widths[c])
    ws.write_string(0, 0, title, fmt.title)
    ws.write_string(
        1,
        0,
        f"{job['org_name']} ({job['org_code']}) — lập ngày {to_ddmmyyyy(job['as_of'])}"
        f" — mức độ: {SEVERITY_LABELS.get(severity, severity)} — căn cứ: {rows[0]['rule'] or ''}",
        fmt.subtitle,
    )
    # Headers wrap on two lines at least (bold text is wider: a little less per line).
    ws.set_row(HEADER_ROW, row_height([(headers[c], widths[c] * 0.9) for c in cols], min_lines=2))
    ws.write_string(HEADER_ROW, 0, "STT", fmt.header)
    for j, c in enumerate(cols, start=1):
        ws.write_string(HEADER_ROW, j, headers[c], fmt.header)
    n_answer = answer_columns.write_headers(ws, fmt, HEADER_ROW, len(cols) + 1)
    wrapped = [c for c in cols if c in WRAP_COLUMNS]
    for i, r in enumerate(rows):
        row = HEADER_ROW + 1 + i
        sev = r["severity"] if r["severity"] in SEVERITY_FILL else ""
        ws.set_row(row, row_height([(texts[c][i], widths[c]) for c in wrapped]))
        ws.write_number(row, 0, i + 1, fmt.row[sev, "num"])
        for j, c in enumerate(cols, start=1):
            when = _parse_iso(r.get(c)) if c in DATE_COLUMNS else None
            if when is not None:
                ws.write_datetime(row, j, when, fmt.row[sev, "date"])
            else:
                kind = (
                    "new"
                    if (c == "status" and r["status"] == "new")
                    else ("wrap" if c in WRAP_COLUMNS else "text")
                )
                # write_string, never write(): a value starting with '=' must not become a formula.
                ws.write_string(row, j, texts[c][i], fmt.row[sev, kind])
        answer_columns.write_row(ws, fmt, row, len(cols) + 1, r, sev)
    last = HEADER_ROW + len(rows)
    answer_columns.finish(ws, HEADER_ROW, last, len(cols) + 1, bool(job.get("board")))
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.autofilter(HEADER_ROW, 0, last, len(cols) + n_answer)
    _print_setup(ws, job["org_name"], title, HEADER_ROW)


def _write_summary(
    wb: xlsxwriter.Workbook, fmt: _Formats, job: WorkbookJob, by_list: dict[str, list[dict[str, Any]]]
) -> None:
    ws = wb.add_worksheet(SUMMARY_SHEET)
    all_rows = [r for rows in by_list.values() for r in rows]
    n_new = sum(r["status"] == "new" for r in all_rows)
    n_resolved = sum(job["resolved"].values())
    open_dates = [r["first_seen"] for r in all_rows if r["first_seen"]]
    oldest = min(open_dates) if open_dates else None
    # The titles are links: LibreOffice never wraps a link, so the column holds the longest title.
    widths = [5, max(52, *(len(t) + 2 for t in LIST_TITLES.values())), 28, 9, 10, 11, 13, 10]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, "KẾT QUẢ ĐỐI CHIẾU DỮ LIỆU ĐẢNG VIÊN", fmt.title)
    ws.write_string(1, 0, f"Tổ chức đảng: {job['org_name']} ({job['org_code']})", fmt.bold)
    ws.write_string(2, 0, f"Lập ngày: {to_ddmmyyyy(job['as_of'])}", fmt.text)
    ws.write_string(
        3,
        0,
        f"Tổng số phát hiện cần xử lý: {vn_number(len(all_rows))}; mới kể từ lần đối chiếu trước: "
        f"{vn_number(n_new)}; đã khắc phục kể từ lần trước: {vn_number(n_resolved)}.",
        fmt.text,
    )
    ws.write_string(
        4,
        0,
        "Phát hiện chưa khắc phục lâu nhất từ ngày: " + (to_ddmmyyyy(oldest) if oldest else "không có"),
        fmt.text,
    )
    head = [
        "STT",
        "Danh sách",
        "Tên sheet",
        "Mức độ",
        "Số phát hiện",
        "Mới kể từ lần trước",
        "Chưa khắc phục lâu nhất từ",
        "Đã khắc phục",
    ]
    top = 6
    ws.set_row(top, row_height([(h, w * 0.9) for h, w in zip(head, widths, strict=True)], min_lines=2))
    for j, h in enumerate(head):
        ws.write_string(top, j, h, fmt.header)
    codes = [c for c in job["list_order"] if c in by_list or job["resolved"].get(c)]
    row = top
    for i, code in enumerate(codes, start=1):
        row = top + i
        rows = by_list.get(code, [])
        sev = rows[0]["severity"] if rows else ""
        fill = sev if sev in SEVERITY_FILL else ""
        title = LIST_TITLES.get(code, code)
        ws.set_row(row, row_height([(title, widths[1])]))
        ws.write_number(row, 0, i, fmt.row[fill, "num"])
        if rows:
            sheet = LIST_SHEET_NAMES.get(code, code)[:31].replace("'", "''")
            ws.write_url(row, 1, f"internal:'{sheet}'!A1", fmt.link_wrap, title)
        else:
            ws.write_string(row, 1, title, fmt.row[fill, "wrap"])
        ws.write_string(row, 2, LIST_SHEET_NAMES.get(code, code)[:31], fmt.row[fill, "text"])
        ws.write_string(row, 3, SEVERITY_LABELS.get(sev, ""), fmt.row[fill, "text"])
        ws.write_number(row, 4, len(rows), fmt.row[fill, "num"])
        ws.write_number(row, 5, sum(r["status"] == "new" for r in rows), fmt.row[fill, "num"])
        first = _parse_iso(min((r["first_seen"] for r in rows if r["first_seen"]), default=None))
        if first is not None:
            ws.write_datetime(row, 6, first, fmt.row[fill, "date"])
        else:
            ws.write_string(row, 6, "", fmt.row[fill, "text"])
        ws.write_number(row, 7, job["resolved"].get(code, 0), fmt.row[fill, "num"])
    if job.get("submission_lines"):
        n_lines = len(job["submission_lines"])
        ws.write_url(
            5,
            1,
            f"internal:'{SUBMISSION_SHEET}'!A1",
            fmt.link,
            f"Bảng nộp của các chi bộ có {n_lines} lỗi cần sửa (sheet {SUBMISSION_SHEET})",
        )
    if not codes:
        row = top + 1
        ws.write_string(row, 1, "Không có phát hiện nào.", fmt.cell)
    row += 1
    ws.write_string(row, 1, "Tổng cộng", fmt.total)
    for j, value in ((4, len(all_rows)), (5, n_new), (7, n_resolved)):
        ws.write_number(row, j, value, fmt.total_num)
    for j in (0, 2, 3, 6):
        ws.write_blank(row, j, None, fmt.total)
    # An upper committee also sees its grassroots organisations side by side.
    per_committee: dict[str, Counter] = defaultdict(Counter)
    for r in all_rows:
        c = per_committee[r["committee_code"] or ""]
        c["total"] += 1
        c["new"] += r["status"] == "new"
        c[r["severity"] or ""] += 1
    if len(per_committee) > 1:
        row += 2
        ws.write_string(row, 0, "Theo tổ chức cơ sở đảng", fmt.bold)
        row += 1
        heads = ["STT", "Tên tổ chức cơ sở đảng", "Mã", "Sai sót", "Cảnh báo", "Thông tin", "Tổng số", "Mới"]
        ws.set_row(row, row_height([(h, w * 0.9) for h, w in zip(heads, widths, strict=True)], min_lines=2))
        for j, h in enumerate(heads):
            ws.write_string(row, j, h, fmt.header)
        for i, code in enumerate(sorted(per_committee), start=1):
            c = per_committee[code]
            row += 1
            ws.write_number(row, 0, i, fmt.cell_num)
            ws.write_string(row, 1, job["names"].get(code, code if code else "(ngoài phạm vi)"), fmt.cell)
            ws.write_string(row, 2, code, fmt.cell)
            for j, key in ((3, "error"), (4, "warning"), (5, "info"), (6, "total"), (7, "new")):
                ws.write_number(row, j, c[key], fmt.cell_num)
    _print_setup(ws, job["org_name"], SUMMARY_SHEET, top)
    ws.activate()


def _write_submission_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, job: WorkbookJob) -> None:
    """The faults of the cells' own workbooks: rows rejected and field-level warnings (a value
    blanked, an ID disagreeing), files rejected or left unread, so the committee sees what its
    cells must fix. Every value is written as a string (never a formula)."""
    lines = [dict(zip(SUBMISSION_COLUMNS, r, strict=True)) for r in job.get("submission_lines") or []]
    ws = wb.add_worksheet(SUBMISSION_SHEET)
    ws.set_tab_color(SEVERITY_TAB["warning"])
    ws.write_string(0, 0, "LỖI TRONG BẢNG NỘP CỦA CÁC CHI BỘ", fmt.title)
    ws.write_string(
        1,
        0,
        f"{job['org_name']} ({job['org_code']}) — lập ngày {to_ddmmyyyy(job['as_of'])} — "
        "chi bộ sửa bảng nộp rồi gửi lại (kiểm tra trước bằng: dvsync check TỆP.xlsx)",
        fmt.subtitle,
    )
    ws.set_column(0, 0, 5)
    for j, c in enumerate(SUBMISSION_COLUMNS, start=1):
        ws.set_column(j, j, _SUBMISSION_WIDTHS[c])
    ws.write_string(HEADER_ROW, 0, "STT", fmt.header)
    for j, c in enumerate(SUBMISSION_COLUMNS, start=1):
        ws.write_string(HEADER_ROW, j, _SUBMISSION_HEADERS[c], fmt.header)
    for i, r in enumerate(lines):
        row = HEADER_ROW + 1 + i
        sev = r["severity"] if r["severity"] in SEVERITY_FILL else "warning"
        ws.set_row(row, row_height([(str(r["message"] or ""), _SUBMISSION_WIDTHS["message"])]))
        ws.write_number(row, 0, i + 1, fmt.row[sev, "num"])
        for j, c in enumerate(SUBMISSION_COLUMNS, start=1):
            v = r[c]
            text = _LINE_SEVERITY.get(v or "", v or "") if c == "severity" else ("" if v is None else str(v))
            if c == "column" and v:  # the header the cell wrote, never dvsync's internal name
                text = column_label(r["sheet"], str(v))
            ws.write_string(row, j, text, fmt.row[sev, "wrap" if c == "message" else "text"])
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + len(lines), len(SUBMISSION_COLUMNS))
    _print_setup(ws, job["org_name"], SUBMISSION_SHEET, HEADER_ROW)


def write_workbook(job: WorkbookJob) -> str:
    """Write one committee workbook at ``job['path']``; returns the org code."""
    rows = [dict(zip(ROW_COLUMNS, r, strict=True)) for r in job["rows"]]
    by_list: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_list[r["list_code"]].append(r)
    options: dict[str, Any] = {
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    if len(rows) > CONSTANT_MEMORY_ROWS:
        options["constant_memory"] = True
    else:
        options["in_memory"] = True
    wb = xlsxwriter.Workbook(job["path"], options)
    created = _parse_iso(job["as_of"]) or datetime(2000, 1, 1)
    wb.set_properties(
        {"title": f"Kết quả đối chiếu — {job['org_name']}", "author": "dvsync", "created": created}
    )
    fmt = _Formats(wb)
    _write_summary(wb, fmt, job, by_list)
    order = [c for c in job["list_order"] if c in by_list] + sorted(set(by_list) - set(job["list_order"]))
    for code in order:
        _write_list_sheet(wb, fmt, job, code, by_list[code])
    if job.get("submission_lines"):
        _write_submission_sheet(wb, fmt, job)
    wb.close()
    return job["org_code"]


def write_batch(jobs: list[WorkbookJob]) -> list[str]:
    """Worker entry point: several workbooks per task to keep inter-process traffic low."""
    return [write_workbook(job) for job in jobs]
