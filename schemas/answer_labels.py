"""The answer columns' vocabulary (issue #20), without heavy imports: the workbook writers'
worker processes read it. The Pandera model of an answer row is ``schemas.responses``."""

from __future__ import annotations

from schemas.contract import Status

# Answer column headers of a list sheet (the finding_id column is "Mã phát hiện").
RESPONSE_HEADER = "Kết quả xử lý"
NOTE_HEADER = "Ghi chú / giải trình"
STATE_HEADER = "Tình trạng trả lời"  # written by dvsync: the last answer, changed facts (not read)
FINDING_ID_HEADER = "Mã phát hiện"

# response code -> the drop-down value a committee picks (in this order).
RESPONSE_LABELS: dict[str, str] = {
    "fixed": "Đã sửa trên phần mềm 3.0",
    "documented": "Đã bổ sung hồ sơ",
    "in_progress": "Đang xử lý",
    "explained": "Giải trình – không phải sai sót",
}
# The board's decision, only in the board's (root committee's) workbook.
ACCEPT_CODE = "accept"
ACCEPT_LABEL = "Chấp nhận giải trình"
BOARD_LABELS: dict[str, str] = {**RESPONSE_LABELS, ACCEPT_CODE: ACCEPT_LABEL}

# Decisions kept in the results database (who and when): the board accepts an explanation; a
# finding whose central or cell values changed after it was accepted reopens by itself.
DECISIONS = ["accepted", "reopened"]
# Statuses a finding may have in findings.csv: the history's three plus the answers' two.
ANSWER_STATUSES = [Status.EXPLAINED.value, Status.ACCEPTED.value]
