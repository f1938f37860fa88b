"""The findings frame every rule returns, and what the run adds to it.

A rule returns the columns of ``RULE_OUTPUT_COLUMNS`` (``make_findings`` builds them);
``finalize`` adds the id, the committee, the severity and the rule's source.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from schemas.contract import FINDING_COLUMNS, GRASSROOTS_KINDS, RULE_OUTPUT_COLUMNS
from schemas.tree import nearest_of_kind

# list code -> (severity, source cited in findings.csv)
LISTS: dict[str, tuple[str, str]] = {
    "ROSTER_MISSING_IN_CELL": ("error", "QĐ 294-QĐ/TW; HD 12-HD/BTCTW (quản lý danh sách đảng viên)"),
    "ROSTER_NOT_IN_CENTRAL": ("error", "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)"),
    "ROSTER_WRONG_CELL": ("error", "Điều lệ Đảng, QĐ 294-QĐ/TW: mỗi đảng viên sinh hoạt ở một chi bộ"),
    "ROSTER_INACTIVE_LISTED": ("error", "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)"),
    "ROSTER_FIELD_MISMATCH": ("warning", "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)"),
    "DUPLICATE_PERSON": ("error", "CT 51-CT/TW (số định danh cá nhân là khoá)"),
    "SUBMISSION_MISSING": ("warning", "KH 71-KH/ĐU (báo cáo định kỳ của chi bộ)"),
    "INVALID_PERSONAL_ID": ("error", "Luật Căn cước 2023; TT 59/2021/TT-BCA Điều 7 (cấu trúc số định danh)"),
    "TRANSFER_OVERDUE": ("error", "QĐ 294-QĐ/TW điểm 6.3.1 (30 ngày làm việc)"),
    "TRANSFER_NOT_NOTIFIED": ("warning", "KH 71-KH/ĐU §2.1.3 (phiếu báo chuyển sinh hoạt)"),
    "TRANSFER_DOSSIER_MISSING": ("error", "QĐ 294-QĐ/TW điểm 6.3; HD 01-HD/TW điểm 8 (hồ sơ đảng viên)"),
    "TRANSFER_UNMATCHED_IN": ("error", "QĐ 294-QĐ/TW điểm 6.3"),
    "TRANSFER_STILL_ON_SENDER": ("error", "QĐ 294-QĐ/TW điểm 6.3"),
    "TEMP_TRANSFER_EXPIRED": ("warning", "QĐ 294-QĐ/TW điểm 6.3.2 (sinh hoạt tạm thời)"),
    "TRANSFER_FEES_GAP": ("warning", "QĐ 342-QĐ/TW (đảng phí); QĐ 294-QĐ/TW điểm 6.3"),
    "DOSSIER_MISSING_DOC": ("warning", "HD 01-HD/TW điểm 8; HD 12-HD/BTCTW (mẫu hồ sơ)"),
    "PROBATION_OVERDUE": ("error", "Điều lệ Đảng Điều 5; HD 01-HD/TW (30 ngày làm việc)"),
    "SCREEN_NOT_COMPLETED": ("warning", "KH 71-KH/ĐU §2.2 nhóm 1; QĐ 124-QĐ/TW"),
    "SCREEN_TRANSFER_RULES": ("warning", "KH 71-KH/ĐU §2.2 nhóm 2"),
    "SCREEN_DISCIPLINE": ("warning", "KH 71-KH/ĐU §2.2 nhóm 3"),
    "SCREEN_LOW_STANDING": ("warning", "KH 71-KH/ĐU §2.2 nhóm 4"),
    "REMOVAL_ABSENCE_OR_FEES": ("error", "QĐ 294-QĐ/TW điểm 8.1 (3 tháng trong năm)"),
    "REMOVAL_TWO_YEARS_KHT": ("error", "QĐ 294-QĐ/TW điểm 8.1 (2 năm liền)"),
    "BADGE_DUE": ("info", "HD 01-HD/TW điểm 18 (Huy hiệu Đảng)"),
    "BADGE_WITHHELD": ("info", "HD 01-HD/TW điểm 18; KH 001 §2"),
    "ADMISSION_ELIGIBLE": ("info", "KH 71-KH/ĐU; KH 001 §1.2 (tiêu chuẩn kết nạp)"),
    "ADMISSION_NOT_ELIGIBLE": ("info", "KH 71-KH/ĐU; KH 001 §1.2 (tiêu chuẩn kết nạp)"),
}


def make_findings(list_code: str, frame: pd.DataFrame, **columns) -> pd.DataFrame:
    """Build a rule's output: one finding per row of ``frame``.

    ``columns`` maps output columns to a column name of ``frame``, a Series aligned with it,
    or a scalar. Unnamed output columns are empty.
    """
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    out["list_code"] = list_code
    for col in RULE_OUTPUT_COLUMNS[1:]:
        value = columns.get(col)
        if value is None:
            out[col] = pd.Series([pd.NA] * n, index=frame.index, dtype="string")
        elif isinstance(value, str) and value in frame.columns:
            out[col] = frame[value]
        else:
            out[col] = value
    for col in RULE_OUTPUT_COLUMNS:
        if col == "due_date":
            out[col] = pd.to_datetime(out[col], errors="coerce")
        else:
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)[RULE_OUTPUT_COLUMNS]


def empty_findings() -> pd.DataFrame:
    return make_findings("", pd.DataFrame()).iloc[0:0]


def committee_of(organizations: pd.DataFrame) -> pd.Series:
    """org_code -> code of its grassroots organisation (itself when it is one); NA above it, and
    on or below a cycle (``schemas.tree``)."""
    return nearest_of_kind(organizations, GRASSROOTS_KINDS)


def finding_ids(df: pd.DataFrame) -> pd.Series:
    key = (
        df["list_code"].fillna("")
        + "|"
        + df["org_code"].fillna("")
        + "|"
        + df["member_code"].fillna("")
        + "|"
        + df["field"].fillna("")
        + "|"
        + df["ref"].fillna("")
    )
    return key.map(lambda k: hashlib.sha1(k.encode("utf-8")).hexdigest()[:16]).astype("string")


def finalize(findings: pd.DataFrame, organizations: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Add id, committee, severity and source; order rows deterministically."""
    df = findings.copy()
    df["finding_id"] = finding_ids(df)
    df = df.drop_duplicates("finding_id")
    df["as_of"] = as_of.strftime("%Y-%m-%d")
    df["severity"] = df["list_code"].map(lambda c: LISTS[c][0]).astype("string")
    df["rule"] = df["list_code"].map(lambda c: LISTS[c][1]).astype("string")
    df["committee_code"] = df["org_code"].map(committee_of(organizations)).astype("string")
    df["due_date"] = pd.to_datetime(df["due_date"]).dt.strftime("%Y-%m-%d").astype("string")
    df["status"] = "new"
    df["first_seen"] = df["as_of"]
    df = df.sort_values(["list_code", "org_code", "member_code", "field", "ref"], na_position="first")
    return df[[*FINDING_COLUMNS, "ref"]].reset_index(drop=True)
