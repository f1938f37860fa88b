"""Pandera models of the cell workbook sheets (contract.md §2), with internal column names, and
``validate_sheet`` which splits a sheet's rows into accepted and quarantined.

A row is quarantined only when it cannot be used: no key, an unreadable required field, a key
repeated in the sheet. Cross-field rules (ID against birth year and gender, ceremony ≤ official,
official = ceremony + 12 months, 18 at admission, no future dates) are warnings: the row stays,
``dvsync check`` tells the secretary to fix it, the reconciliation reports the mismatch.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._common import Col, Ctx, duplicate_issues, normalize_columns, run_model, split
from schemas.central import (
    RATING_ANY,
    _le,
    adult_at_admission,
    id_matches_birth,
    id_well_formed,
    not_future,
    official_after_12_months,
)
from schemas.contract import (
    CANDIDATE_KINDS,
    GENDER_LABELS,
    GENDERS,
    RATINGS,
    ROSTER_STATUSES,
    SHEETS,
    STUDENT_RATINGS,
    TRANSFER_KIND_LABELS,
)

Str = Series[pd.StringDtype]
Date = Series[pd.Timestamp]
Int = Series[pd.Int64Dtype]
Bool = Series[pd.BooleanDtype]

CANDIDATE_RATING_LABELS = (
    RATING_ANY | {r: r for r in STUDENT_RATINGS} | {"Xuat sac": "Xuất sắc", "Gioi": "Giỏi"}
)
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


class Info(pa.DataFrameModel):
    """ThongTin, as one row."""

    cell_code: Str = pa.Field(nullable=False)
    period: Str = pa.Field(str_matches=MONTH_RE)
    created_on: Date = pa.Field(nullable=True)
    secretary: Str = pa.Field(nullable=True)

    class Config:
        coerce = True


class Roster(pa.DataFrameModel):
    member_code: Str = pa.Field(nullable=False)
    full_name: Str = pa.Field(nullable=True)
    birth_date: Date = pa.Field(nullable=True)
    gender: Str = pa.Field(isin=GENDERS, nullable=True)
    personal_id: Str = pa.Field(nullable=True)
    admission_date: Date = pa.Field(nullable=True)
    official_date: Date = pa.Field(nullable=True)
    roster_status: Str = pa.Field(isin=list(ROSTER_STATUSES.values()))

    @pa.dataframe_check
    def id_well_formed(cls, df: pd.DataFrame) -> Series[bool]:
        return id_well_formed(df)

    @pa.dataframe_check
    def id_matches_birth(cls, df: pd.DataFrame) -> Series[bool]:
        return id_matches_birth(df)

    @pa.dataframe_check
    def ceremony_le_official(cls, df: pd.DataFrame) -> Series[bool]:
        return _le(df["admission_date"], df["official_date"])

    @pa.dataframe_check
    def official_after_12_months(cls, df: pd.DataFrame) -> Series[bool]:
        return official_after_12_months(df)

    @pa.dataframe_check
    def adult_at_admission(cls, df: pd.DataFrame) -> Series[bool]:
        return adult_at_admission(df)

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(["birth_date", "admission_date", "official_date"])(df)

    class Config:
        coerce = True


class Activity(pa.DataFrameModel):
    member_code: Str
    month: Str = pa.Field(str_matches=MONTH_RE)
    attended: Bool
    excused: Bool
    fees_paid: Bool

    @pa.dataframe_check
    def month_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["month"] <= pd.Timestamp.today().strftime("%Y-%m")).fillna(True).astype(bool)

    class Config:
        coerce = True


class Ratings(pa.DataFrameModel):
    member_code: Str
    year: Int = pa.Field(ge=1930, le=2100)
    rating: Str = pa.Field(isin=RATINGS)

    class Config:
        coerce = True


class TransfersOut(pa.DataFrameModel):
    member_code: Str
    kind: Str = pa.Field(isin=list(TRANSFER_KIND_LABELS.values()))
    to_org: Str = pa.Field(nullable=True)
    letter_date: Date = pa.Field(nullable=True)
    notice_sent_on: Date = pa.Field(nullable=True)
    fees_paid_through: Str = pa.Field(nullable=True, str_matches=MONTH_RE)

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(["letter_date", "notice_sent_on"])(df)

    class Config:
        coerce = True


class TransfersIn(pa.DataFrameModel):
    member_code: Str
    kind: Str = pa.Field(isin=list(TRANSFER_KIND_LABELS.values()))
    from_org: Str = pa.Field(nullable=True)
    letter_date: Date = pa.Field(nullable=True)
    received_on: Date = pa.Field(nullable=True)
    dossier_received_on: Date = pa.Field(nullable=True)

    @pa.dataframe_check
    def letter_le_received(cls, df: pd.DataFrame) -> Series[bool]:
        return _le(df["letter_date"], df["received_on"])

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(["letter_date", "received_on", "dossier_received_on"])(df)

    class Config:
        coerce = True


class Candidates(pa.DataFrameModel):
    personal_id: Str = pa.Field(nullable=False)
    full_name: Str = pa.Field(nullable=True)
    birth_date: Date = pa.Field(nullable=True)
    candidate_kind: Str = pa.Field(isin=list(CANDIDATE_KINDS.values()))
    rating_y1: Str = pa.Field(nullable=True, isin=RATINGS + STUDENT_RATINGS)
    rating_y2: Str = pa.Field(nullable=True, isin=RATINGS + STUDENT_RATINGS)
    rating_y3: Str = pa.Field(nullable=True, isin=RATINGS + STUDENT_RATINGS)
    emulation_fighter: Bool
    provincial_merit: Bool
    course_certificate_on: Date = pa.Field(nullable=True)
    background_verified: Bool
    political_conclusion_on: Date = pa.Field(nullable=True)

    @pa.dataframe_check
    def id_well_formed(cls, df: pd.DataFrame) -> Series[bool]:
        return id_well_formed(df)

    @pa.dataframe_check
    def id_matches_birth(cls, df: pd.DataFrame) -> Series[bool]:
        return id_matches_birth(df.assign(gender=pd.Series(pd.NA, index=df.index, dtype="string")))

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(["birth_date", "course_certificate_on", "political_conclusion_on"])(df)

    class Config:
        coerce = True


class Screening(pa.DataFrameModel):
    member_code: Str
    category: Int = pa.Field(isin=[1, 2, 3, 4])
    note: Str = pa.Field(nullable=True)

    class Config:
        coerce = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "DanhSach": Roster,
    "SinhHoat": Activity,
    "XepLoai": Ratings,
    "ChuyenDi": TransfersOut,
    "ChuyenDen": TransfersIn,
    "CamTinh": Candidates,
    "DanhGia": Screening,
}
_code = Col("code", required=True)
_kind = Col(
    "enum",
    required=True,
    labels=TRANSFER_KIND_LABELS | {"official": "official", "temporary": "temporary"},
    shown="Chính thức, Tạm thời",
)
SPECS: dict[str, dict[str, Col]] = {
    "DanhSach": {
        "member_code": _code,
        "full_name": Col("name"),
        "birth_date": Col("date"),
        "gender": Col("enum", labels=GENDER_LABELS, shown="Nam, Nữ"),
        "personal_id": Col("id"),
        "admission_date": Col("date"),
        "official_date": Col("date"),
        "roster_status": Col(
            "enum", required=True, labels=ROSTER_STATUSES, default="active", shown=", ".join(ROSTER_STATUSES)
        ),
    },
    "SinhHoat": {
        "member_code": _code,
        "month": Col("month", required=True),
        "attended": Col("bool", required=True),
        "excused": Col("bool", required=True),
        "fees_paid": Col("bool", required=True),
    },
    "XepLoai": {
        "member_code": _code,
        "year": Col("int", required=True),
        "rating": Col("enum", required=True, labels=RATING_ANY, shown="HTXSNV, HTTNV, HTNV, KHTNV"),
    },
    "ChuyenDi": {
        "member_code": _code,
        "kind": _kind,
        "to_org": Col("text"),
        "letter_date": Col("date"),
        "notice_sent_on": Col("date"),
        "fees_paid_through": Col("month"),
    },
    "ChuyenDen": {
        "member_code": _code,
        "kind": _kind,
        "from_org": Col("text"),
        "letter_date": Col("date"),
        "received_on": Col("date"),
        "dossier_received_on": Col("date"),
    },
    "CamTinh": {
        "personal_id": Col("id", required=True),
        "full_name": Col("name"),
        "birth_date": Col("date"),
        "candidate_kind": Col(
            "enum", required=True, labels=CANDIDATE_KINDS, shown=", ".join(CANDIDATE_KINDS)
        ),
        "rating_y1": Col("enum", labels=CANDIDATE_RATING_LABELS),
        "rating_y2": Col("enum", labels=CANDIDATE_RATING_LABELS),
        "rating_y3": Col("enum", labels=CANDIDATE_RATING_LABELS),
        "emulation_fighter": Col("bool"),
        "provincial_merit": Col("bool"),
        "course_certificate_on": Col("date"),
        "background_verified": Col("bool"),
        "political_conclusion_on": Col("date"),
    },
    "DanhGia": {"member_code": _code, "category": Col("int", required=True), "note": Col("text")},
}
# Repeating one of these keys in a sheet quarantines the later row.
# The sheets' columns by kind, read off SPECS (the store's column types, the template's formats).
DATE_COLUMNS = frozenset(c for spec in SPECS.values() for c, col in spec.items() if col.kind == "date")
BOOL_COLUMNS = frozenset(c for spec in SPECS.values() for c, col in spec.items() if col.kind == "bool")
KEYS: dict[str, list[str]] = {
    "DanhSach": ["member_code"],
    "SinhHoat": ["member_code", "month"],
    "XepLoai": ["member_code", "year"],
    "ChuyenDi": ["member_code", "kind", "letter_date"],
    "ChuyenDen": ["member_code", "kind", "letter_date"],
    "CamTinh": ["personal_id"],
    "DanhGia": ["member_code", "category"],
}
# Columns without which a sheet cannot be read at all (a missing header rejects the sheet).
KEY_COLUMNS: dict[str, list[str]] = {
    "DanhSach": ["member_code"],
    "SinhHoat": ["member_code", "month"],
    "XepLoai": ["member_code", "year", "rating"],
    "ChuyenDi": ["member_code", "kind"],
    "ChuyenDen": ["member_code", "kind"],
    "CamTinh": ["personal_id", "candidate_kind"],
    "DanhGia": ["member_code", "category"],
}
WARN = {
    "id_well_formed": "Số CCCD sai cấu trúc (12 chữ số, bắt đầu bằng mã tỉnh 001–096) — kiểm tra lại số CCCD",
    "id_matches_birth": "Số CCCD không khớp năm sinh hoặc giới tính (chữ số 4–6) — kiểm tra lại số CCCD, ngày sinh, giới tính",
    "ceremony_le_official": "Ngày chính thức trước ngày vào Đảng — kiểm tra lại hai ngày",
    "official_after_12_months": "Ngày chính thức phải đúng 12 tháng sau ngày vào Đảng — kiểm tra lại",
    "adult_at_admission": "Chưa đủ 18 tuổi khi vào Đảng — kiểm tra lại ngày sinh, ngày vào Đảng",
    "dates_not_future": "Có ngày ở tương lai — kiểm tra lại (ghi dd/mm/yyyy, không ghi mm/dd)",
    "month_not_future": "Tháng ở tương lai — kiểm tra lại tháng (MM/YYYY)",
    "letter_le_received": "Ngày tiếp nhận trước ngày giới thiệu — kiểm tra lại",
}
CHECK_COLUMNS = {
    "id_well_formed": "personal_id",
    "id_matches_birth": "personal_id",
    "ceremony_le_official": "official_date",
    "official_after_12_months": "official_date",
    "adult_at_admission": "birth_date",
    "month_not_future": "month",
    "letter_le_received": "received_on",
}
MESSAGES = {
    "isin": "giá trị không thuộc danh sách — chọn trong danh sách thả xuống",
    "greater_than_or_equal_to": "giá trị ngoài khoảng cho phép",
    "less_than_or_equal_to": "giá trị ngoài khoảng cho phép",
}


def internal_columns(sheet: str) -> list[str]:
    return list(SHEETS[sheet].values())


def validate_sheet(
    sheet: str,
    raw: pd.DataFrame,
    ctx: Ctx,
    group: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of one sheet (internal column names, any dtypes; positions 0..n-1 aligned with
    ``ctx.rows``) -> (accepted rows, quarantine (one line per rejected row), notes).

    Many workbooks are validated in one call (vectorised): ``ctx.source`` is then a Series and
    ``group`` (aligned with positions) tells the workbooks apart for key duplicates."""
    raw = raw.reset_index(drop=True)
    clean, issues = normalize_columns(raw, SPECS[sheet], ctx)
    clean = clean[internal_columns(sheet)]
    rejected = set(issues.loc[issues["severity"] == "reject", "_pos"].astype(int)) if len(issues) else set()
    alive = clean.drop(index=list(rejected)) if rejected else clean
    grp = group.reset_index(drop=True).loc[alive.index] if group is not None else None
    dup = duplicate_issues(alive, KEYS[sheet], ctx, group=grp)
    dup_pos = set(dup["_pos"].astype(int)) if len(dup) else set()
    checked = alive.drop(index=list(dup_pos)) if dup_pos else alive
    model_issues = run_model(checked, MODELS[sheet], WARN, CHECK_COLUMNS, MESSAGES)
    parts = [x for x in (issues, dup, model_issues) if len(x)]
    all_issues = pd.concat(parts, ignore_index=True) if parts else issues
    return split(clean, all_issues, ctx)
