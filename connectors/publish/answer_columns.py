"""The answer columns of a committee workbook's list sheets (issue #20), written row by row by
``_workbook._write_list_sheet`` (xlsxwriter's constant-memory mode writes rows in order).

After the list's own columns (the last of which is the finding's ``Mã phát hiện``, the key a
returned workbook is read back by): ``Kết quả xử lý`` (a drop-down), ``Ghi chú / giải trình``
(free text) and ``Tình trạng trả lời`` (what dvsync knows: the last answer and its date, or that
the finding's values changed after it). The committee's last answer is filled in beside each open
finding while it still stands; the board's workbook (a root committee's) offers one more value,
``Chấp nhận giải trình``.

Light imports only: this runs inside the workbook writers' worker processes.
"""

from __future__ import annotations

from typing import Any

from schemas.answer_labels import (
    ACCEPT_LABEL,
    BOARD_LABELS,
    NOTE_HEADER,
    RESPONSE_HEADER,
    RESPONSE_LABELS,
    STATE_HEADER,
)

HEADERS = [RESPONSE_HEADER, NOTE_HEADER, STATE_HEADER]
WIDTHS = [22, 30, 24]


def _ddmmyyyy(iso: str | None) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso and len(iso) >= 10 else ""


def state_text(r: dict[str, Any]) -> str:
    """What the state column says of a row (ROW_COLUMNS values)."""
    response, on = r.get("response"), _ddmmyyyy(r.get("responded_on"))
    label = BOARD_LABELS.get(response or "", response or "")
    if r.get("facts_changed"):
        said = f" (trả lời ngày {on}: {label})" if response else ""
        return f"Số liệu đã thay đổi sau khi trả lời{said} — đề nghị xem lại và trả lời lại"
    if r.get("status") == "explained":
        return f"Đã giải trình ngày {on}, chờ Ban Tổ chức xem xét"
    if response:
        return f"Đã trả lời ngày {on}"
    return ""


def write_headers(ws: Any, fmt: Any, header_row: int, first_col: int) -> int:
    """Headers and widths of the answer columns from ``first_col``; returns how many."""
    for k, (head, width) in enumerate(zip(HEADERS, WIDTHS, strict=True)):
        ws.set_column(first_col + k, first_col + k, width)
        ws.write_string(header_row, first_col + k, head, fmt.header)
    return len(HEADERS)


def write_row(ws: Any, fmt: Any, row: int, first_col: int, r: dict[str, Any], sev: str) -> None:
    """One finding's answer cells: its last answer when it still stands, and its state."""
    stands = r.get("response") and not r.get("facts_changed")
    response = BOARD_LABELS.get(r["response"], "") if stands else ""
    note = (r.get("response_note") or "") if stands else ""
    ws.write_string(row, first_col, response, fmt.row[sev, "text"])
    ws.write_string(row, first_col + 1, note, fmt.row[sev, "wrap"])
    ws.write_string(row, first_col + 2, state_text(r), fmt.row[sev, "wrap"])


def finish(ws: Any, header_row: int, last_row: int, first_col: int, board: bool) -> None:
    """The drop-down of the answer column (the board's workbook: with its acceptance)."""
    if last_row <= header_row:
        return
    values = [*RESPONSE_LABELS.values(), *([ACCEPT_LABEL] if board else [])]
    ws.data_validation(
        header_row + 1,
        first_col,
        last_row,
        first_col,
        {
            "validate": "list",
            "source": values,
            "input_title": RESPONSE_HEADER,
            "input_message": "Chọn kết quả xử lý; giải thích thêm ở cột bên phải",
            "error_title": RESPONSE_HEADER,
            "error_message": "Chọn một giá trị trong danh sách",
        },
    )
