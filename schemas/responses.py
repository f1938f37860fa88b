"""The committees' answers (issue #20): the vocabulary of the answer column and the Pandera model
of an answer row read back from a returned committee workbook.

A committee workbook's list sheets carry the finding's stable ``finding_id`` (column
``Mã phát hiện``) and two answer columns: ``Kết quả xử lý`` (a drop-down of ``RESPONSE_LABELS``)
and ``Ghi chú / giải trình`` (free text). The board's own workbook (the root committee's) has
one more value, ``Chấp nhận giải trình``: the board accepts a committee's explanation.

An answer row is validated like any input: a row that fails is one quarantine line, never lost.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.answer_labels import (  # noqa: F401 - the vocabulary, light for the workbook writers
    ACCEPT_CODE,
    ACCEPT_LABEL,
    ANSWER_STATUSES,
    BOARD_LABELS,
    DECISIONS,
    FINDING_ID_HEADER,
    NOTE_HEADER,
    RESPONSE_HEADER,
    RESPONSE_LABELS,
    STATE_HEADER,
)
from schemas.normalize import header_key

NOTE_MAX = 2000  # characters of a note kept
FINDING_ID_PATTERN = r"^[0-9a-f]{16}$"

# What a secretary may type instead of picking: any case, with or without diacritics, any dash.
_KEYS: dict[str, str] = {}
for _code, _label in BOARD_LABELS.items():
    _KEYS[header_key(_label)] = _code
    _KEYS[header_key(_code)] = _code
_KEYS[header_key("Giải trình")] = "explained"
_KEYS[header_key("Đã sửa")] = "fixed"


def response_code(values: pd.Series) -> pd.Series:
    """Drop-down text (or its code) -> response code; NA when blank, the text itself (kept for
    the quarantine line) prefixed with ``?`` when it is not in the vocabulary."""
    text = values.astype("string").str.strip()
    keys = text.map(header_key, na_action="ignore")
    code = keys.map(_KEYS).astype("string")
    unknown = code.isna() & text.notna() & (text != "")
    return code.mask(unknown, "?" + text).mask(text.fillna("") == "", pd.NA)


class AnswerRow(pa.DataFrameModel):
    """One answered row of a returned committee workbook."""

    finding_id: Series[pd.StringDtype] = pa.Field(nullable=False, str_matches=FINDING_ID_PATTERN)
    response: Series[pd.StringDtype] = pa.Field(nullable=False, isin=list(BOARD_LABELS))
    note: Series[pd.StringDtype] = pa.Field(nullable=True, str_length={"max_value": NOTE_MAX})

    class Config:
        coerce = True


MESSAGES = {
    "not_nullable": "thiếu giá trị",
    "str_matches": "Mã phát hiện không đúng dạng (16 ký tự 0-9, a-f) — đừng sửa cột Mã phát hiện",
    "isin": "Kết quả xử lý không có trong danh sách chọn: "
    + ", ".join(RESPONSE_LABELS.values())
    + " — chọn lại từ danh sách",
    "str_length": f"Ghi chú quá dài (tối đa {NOTE_MAX} ký tự)",
}


def validate_answers(rows: pd.DataFrame) -> pd.DataFrame:
    """Issues of ``rows`` (columns finding_id, response, note; index = positions): one row per
    failed check with ``_pos``, ``column``, ``rule``, ``value``, ``message`` (schemas._common)."""
    from schemas._common import run_model

    frame = rows[["finding_id", "response", "note"]].astype("string").reset_index(drop=True)
    issues = run_model(frame, AnswerRow, {}, messages=MESSAGES)
    if issues.empty:
        return issues
    # Messages by check: pandera names them "not_nullable", "str_matches(...)", "isin(...)".
    rule = issues["rule"].astype("string").str.split("(").str[0]
    issues["message"] = rule.map(MESSAGES).fillna(issues["message"])
    missing = (rule == "not_nullable") & (issues["column"] == "response")
    issues.loc[missing, "message"] = "có ghi chú nhưng chưa chọn Kết quả xử lý — chọn từ danh sách"
    missing_id = (rule == "not_nullable") & (issues["column"] == "finding_id")
    issues.loc[missing_id, "message"] = "thiếu Mã phát hiện — đừng xoá cột Mã phát hiện"
    issues["rule"] = "response_" + rule.str.replace("not_nullable", "missing")
    return issues
