"""Pandera models of the central database tables (contract.md §1) and ``validate_central``.

Only rows that cannot be used are quarantined: no key, an unreadable required field, a repeated
key. A member whose personal ID is malformed or whose dates disagree STAYS: the rules report it
(``INVALID_PERSONAL_ID``, field mismatches); the cross-field checks below only count it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.typing import Series

from schemas._common import (
    ISSUE_COLUMNS,
    Col,
    Ctx,
    _issues,
    duplicate_issues,
    empty_quarantine,
    normalize_columns,
    run_model,
    split,
)
from schemas.contract import (
    CENTRAL_KEYS,
    CENTRAL_TABLES,
    DISCIPLINE_FORMS,
    DOC_TYPES,
    GENDER_LABELS,
    GENDERS,
    MEMBER_STATUSES,
    ORG_KINDS,
    RATING_LABELS,
    RATINGS,
    ROSTER_STATUSES,
    TRANSFER_KIND_LABELS,
    TRANSFER_KINDS,
)
from schemas.datasets import CentralData
from schemas.identity import matches_birth, well_formed
from schemas.tree import FAULT_RULES, MAX_DEPTH, shown_code, tree_faults

Str = Series[pd.StringDtype]
Date = Series[pd.Timestamp]
Int = Series[pd.Int64Dtype]
Bool = Series[pd.BooleanDtype]

STATUS_LABELS = (
    {s: s for s in MEMBER_STATUSES}
    | dict(ROSTER_STATUSES)
    | {
        "Chuyển đi": "transferred_out",
        "Từ trần": "deceased",
        "Đã mất": "deceased",
        "Xóa tên": "removed",
        "Xoá tên": "removed",
        "Khai trừ": "expelled",
        "Ra khỏi Đảng": "left",
    }
)
STATUS_LABELS.pop("Sinh hoạt tạm thời")  # a roster-only state, not a central status
RATING_ANY = {r: r for r in RATINGS} | {v: k for k, v in RATING_LABELS.items()}
FORM_LABELS = {f: f for f in DISCIPLINE_FORMS} | {
    "Khiển trách": "khien_trach",
    "Cảnh cáo": "canh_cao",
    "Cách chức": "cach_chuc",
    "Khai trừ": "khai_tru",
}
KIND_LABELS = {k: k for k in TRANSFER_KINDS} | TRANSFER_KIND_LABELS
DOC_LABELS = {d: d for d in DOC_TYPES}
YES_NO = {"active": "active"}


# --- cross-field rules (shared with the roster sheet) ---------------------------------------------
def id_matches_birth(df: pd.DataFrame) -> pd.Series:
    """CCCD digit 4 (century and gender) and digits 5–6 (year) agree with birth date and gender.
    True where it cannot be checked (no ID, 9-digit CMND, no birth date). schemas.identity's check."""
    return matches_birth(df["personal_id"], df["birth_date"], df.get("gender"))


def id_well_formed(df: pd.DataFrame) -> pd.Series:
    """Null, a 9-digit CMND, or 12 digits starting with one of the 63 province codes (schemas.identity)."""
    return well_formed(df["personal_id"])


def _le(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a.isna() | b.isna() | (a <= b)).astype(bool)


def official_after_12_months(df: pd.DataFrame) -> pd.Series:
    expected = df["admission_date"] + pd.DateOffset(months=12)
    return (
        df["official_date"].isna() | df["admission_date"].isna() | (df["official_date"] == expected)
    ).astype(bool)


def adult_at_admission(df: pd.DataFrame) -> pd.Series:
    admitted = (
        df["admission_decision_date"].fillna(df["admission_date"])
        if "admission_decision_date" in df
        else df["admission_date"]
    )
    return (
        admitted.isna() | df["birth_date"].isna() | (df["birth_date"] + pd.DateOffset(years=18) <= admitted)
    ).astype(bool)


def not_future(columns: list[str]) -> callable:
    def check(df: pd.DataFrame) -> pd.Series:
        today = pd.Timestamp.today().normalize()
        ok = pd.Series(True, index=df.index)
        for c in columns:
            if c in df:
                ok &= (df[c].isna() | (df[c] <= today)).astype(bool)
        return ok

    return check


MEMBER_WARN = {
    "id_well_formed": "Số CCCD sai cấu trúc (12 chữ số, mã tỉnh nơi đăng ký khai sinh) — báo cáo INVALID_PERSONAL_ID",
    "id_matches_birth": "Số CCCD không khớp năm sinh/giới tính — báo cáo INVALID_PERSONAL_ID",
    "decision_le_ceremony": "Ngày quyết định kết nạp sau ngày vào Đảng",
    "ceremony_le_official": "Ngày vào Đảng sau ngày chính thức",
    "official_after_12_months": "Ngày chính thức khác ngày vào Đảng + 12 tháng",
    "adult_at_admission": "Chưa đủ 18 tuổi khi kết nạp",
    "dates_not_future": "Ngày ở tương lai",
    "probationary_without_card": "Đảng viên dự bị (chưa có ngày chính thức) nhưng đã có số thẻ",
}


# --- Pandera models ---------------------------------------------------------------------------------
class Organizations(pa.DataFrameModel):
    org_code: Str = pa.Field(nullable=False, unique=True)
    name: Str = pa.Field(nullable=True)
    kind: Str = pa.Field(isin=ORG_KINDS)
    parent_code: Str = pa.Field(nullable=True)
    active: Bool = pa.Field(nullable=True)

    class Config:
        coerce = True


class Members(pa.DataFrameModel):
    member_code: Str = pa.Field(nullable=False, unique=True)
    full_name: Str = pa.Field(nullable=True)
    gender: Str = pa.Field(isin=GENDERS, nullable=True)
    birth_date: Date = pa.Field(nullable=True)
    personal_id: Str = pa.Field(nullable=True)
    dossier_no: Str = pa.Field(nullable=True)
    card_no: Str = pa.Field(nullable=True)
    admission_decision_date: Date = pa.Field(nullable=True)
    admission_date: Date = pa.Field(nullable=True)
    official_date: Date = pa.Field(nullable=True)
    cell_code: Str = pa.Field(nullable=False)
    status: Str = pa.Field(isin=MEMBER_STATUSES)
    status_date: Date = pa.Field(nullable=True)
    updated_at: Date = pa.Field(nullable=True)

    @pa.dataframe_check
    def id_well_formed(cls, df: pd.DataFrame) -> Series[bool]:
        return id_well_formed(df)

    @pa.dataframe_check
    def id_matches_birth(cls, df: pd.DataFrame) -> Series[bool]:
        return id_matches_birth(df)

    @pa.dataframe_check
    def decision_le_ceremony(cls, df: pd.DataFrame) -> Series[bool]:
        return _le(df["admission_decision_date"], df["admission_date"])

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
        return not_future(
            ["birth_date", "admission_decision_date", "admission_date", "official_date", "status_date"]
        )(df)

    @pa.dataframe_check
    def probationary_without_card(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["official_date"].notna() | df["card_no"].isna()).astype(bool)

    class Config:
        coerce = True


class Ratings(pa.DataFrameModel):
    member_code: Str
    year: Int = pa.Field(ge=1930, le=2100)
    rating: Str = pa.Field(isin=RATINGS)

    class Config:
        coerce = True
        unique = ["member_code", "year"]


class Disciplines(pa.DataFrameModel):
    member_code: Str
    decided_on: Date
    form: Str = pa.Field(isin=DISCIPLINE_FORMS)
    decided_by: Str = pa.Field(nullable=True)

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(["decided_on"])(df)

    class Config:
        coerce = True


class Transfers(pa.DataFrameModel):
    transfer_id: Str = pa.Field(unique=True)
    member_code: Str
    kind: Str = pa.Field(isin=TRANSFER_KINDS)
    from_cell: Str = pa.Field(nullable=True)
    to_org: Str = pa.Field(nullable=True)
    letter_date: Date = pa.Field(nullable=True)
    notice_sent_on: Date = pa.Field(nullable=True)
    received_on: Date = pa.Field(nullable=True)
    dossier_received_on: Date = pa.Field(nullable=True)
    temporary_until: Date = pa.Field(nullable=True)
    returned_on: Date = pa.Field(nullable=True)
    fees_paid_through: Str = pa.Field(nullable=True, str_matches=r"^\d{4}-(0[1-9]|1[0-2])$")

    @pa.dataframe_check
    def letter_le_received(cls, df: pd.DataFrame) -> Series[bool]:
        return _le(df["letter_date"], df["received_on"])

    @pa.dataframe_check
    def dates_not_future(cls, df: pd.DataFrame) -> Series[bool]:
        return not_future(
            ["letter_date", "notice_sent_on", "received_on", "dossier_received_on", "returned_on"]
        )(df)

    class Config:
        coerce = True


class DossierDocuments(pa.DataFrameModel):
    member_code: Str
    doc_type: Str = pa.Field(isin=DOC_TYPES)
    year: Int = pa.Field(nullable=True, ge=1930, le=2100)
    received_on: Date = pa.Field(nullable=True)

    class Config:
        coerce = True


class Badges(pa.DataFrameModel):
    member_code: Str
    years: Int = pa.Field(ge=1, le=100)
    awarded_on: Date = pa.Field(nullable=True)

    class Config:
        coerce = True


class ActivityGaps(pa.DataFrameModel):
    member_code: Str
    from_date: Date
    to_date: Date = pa.Field(nullable=True)

    @pa.dataframe_check
    def from_le_to(cls, df: pd.DataFrame) -> Series[bool]:
        return _le(df["from_date"], df["to_date"])

    class Config:
        coerce = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "organizations": Organizations,
    "members": Members,
    "ratings": Ratings,
    "disciplines": Disciplines,
    "transfers": Transfers,
    "dossier_documents": DossierDocuments,
    "badges": Badges,
    "activity_gaps": ActivityGaps,
}
WARN_CHECKS: dict[str, dict[str, str]] = {
    "members": MEMBER_WARN,
    "disciplines": {"dates_not_future": "Ngày ở tương lai"},
    "transfers": {
        "dates_not_future": "Ngày ở tương lai",
        "letter_le_received": "Ngày tiếp nhận trước ngày giới thiệu",
        "fees_paid_through": "Tháng đã đóng đảng phí không đọc được",
    },
    "activity_gaps": {"from_le_to": "Từ ngày sau đến ngày"},
}

# The column whose (masked) value a cross-field warning shows.
CHECK_COLUMNS = {
    "id_well_formed": "personal_id",
    "id_matches_birth": "personal_id",
    "decision_le_ceremony": "admission_decision_date",
    "ceremony_le_official": "official_date",
    "official_after_12_months": "official_date",
    "adult_at_admission": "birth_date",
    "probationary_without_card": "card_no",
    "letter_le_received": "received_on",
    "from_le_to": "to_date",
}
_code = Col("code", required=True)
SPECS: dict[str, dict[str, Col]] = {
    "organizations": {
        "org_code": Col("org_code", required=True),
        "name": Col("text"),
        "kind": Col("enum", required=True, labels={k: k for k in ORG_KINDS}),
        "parent_code": Col("org_code"),
        "active": Col("bool", empty_bool=None),
    },
    "members": {
        "member_code": _code,
        "full_name": Col("name"),
        "gender": Col("enum", labels=GENDER_LABELS, shown="Nam, Nữ"),
        "birth_date": Col("date"),
        "personal_id": Col("id"),
        "dossier_no": Col("code"),
        "card_no": Col("code"),
        "admission_decision_date": Col("date"),
        "admission_date": Col("date"),
        "official_date": Col("date"),
        "cell_code": Col("org_code", required=True),
        "status": Col("enum", required=True, labels=STATUS_LABELS),
        "status_date": Col("date"),
        "updated_at": Col("date"),
    },
    "ratings": {
        "member_code": _code,
        "year": Col("int", required=True),
        "rating": Col("enum", required=True, labels=RATING_ANY),
    },
    "disciplines": {
        "member_code": _code,
        "decided_on": Col("date", required=True),
        "form": Col("enum", required=True, labels=FORM_LABELS),
        "decided_by": Col("text"),
    },
    "transfers": {
        "transfer_id": _code,
        "member_code": _code,
        "kind": Col("enum", required=True, labels=KIND_LABELS),
        "from_cell": Col("org_code"),
        "to_org": Col("org_code"),
        "letter_date": Col("date"),
        "notice_sent_on": Col("date"),
        "received_on": Col("date"),
        "dossier_received_on": Col("date"),
        "temporary_until": Col("date"),
        "returned_on": Col("date"),
        "fees_paid_through": Col("month"),
    },
    "dossier_documents": {
        "member_code": _code,
        "doc_type": Col("enum", required=True, labels=DOC_LABELS),
        "year": Col("int"),
        "received_on": Col("date"),
    },
    "badges": {"member_code": _code, "years": Col("int", required=True), "awarded_on": Col("date")},
    "activity_gaps": {"member_code": _code, "from_date": Col("date", required=True), "to_date": Col("date")},
}


BOARD_NOTE = "phát hiện của các đơn vị trực thuộc được liệt kê cho Ban Tổ chức (committees/_ban-to-chuc)"
TREE_MESSAGES = {
    "org_code_unsafe": (
        "mã tổ chức {code}{name} không hợp lệ: chỉ dùng chữ cái, chữ số không dấu, nối bằng một dấu . - _ "
        "(tối đa 64 ký tự, không dùng tên như CON, NUL) — tổ chức bị loại khỏi cây và không có sổ riêng; "
        "sửa mã trên phần mềm 3.0"
    ),
    "org_code_case_clash": (
        "mã tổ chức {code}{name} chỉ khác mã {other} ở chữ hoa/chữ thường (trùng thư mục trên Windows) — "
        "tổ chức bị loại khỏi cây; sửa mã trên phần mềm 3.0"
    ),
    "tree_cycle": (
        "tổ chức {code}{name} nằm trong vòng lặp cấp trên {cycle} — không dẫn tới tổ chức gốc; tổ chức bị "
        "loại khỏi cây; sửa mã tổ chức cấp trên"
    ),
    "tree_orphan": (
        "tổ chức {code}{name} có mã tổ chức cấp trên {parent} không có trong bảng tổ chức — tổ chức bị "
        "loại khỏi cây; sửa mã tổ chức cấp trên"
    ),
    "tree_too_deep": (
        "tổ chức {code}{name} nằm sâu hơn {depth} cấp dưới tổ chức gốc — tổ chức bị loại khỏi cây; "
        "sửa mã tổ chức cấp trên"
    ),
}


def tree_issues(orgs: pd.DataFrame, all_codes: pd.Series) -> pd.DataFrame:
    """Organisations whose place in the tree is broken (``schemas.tree.tree_faults``): an unsafe
    code, a cycle of parent codes, a parent code that is no organisation of the export, a chain
    deeper than ``MAX_DEPTH``. Each one's row is rejected with one line naming it; the
    organisations below it stay, detached from the tree (their findings go to the board's list
    of unplaced findings). ``orgs``: the rows still accepted (index = row positions, each code
    once); ``all_codes``: every code of the export, rejected rows included."""
    faults = tree_faults(orgs, known_codes=all_codes)
    hit = faults[list(FAULT_RULES)].any(axis=1)
    if not hit.any():
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    bad, faults = orgs[hit.to_numpy()], faults[hit.to_numpy()]
    code = "'" + shown_code(bad["org_code"]).fillna("") + "'"
    name = bad["name"].astype("string")
    name = (" (" + name + ")").fillna("")
    parent = "'" + shown_code(bad["parent_code"]).fillna("") + "'"
    out = []
    for rule, column in FAULT_RULES.items():
        mask = faults[rule].to_numpy()
        if not mask.any():
            continue
        parts = {
            "code": code[mask],
            "name": name[mask],
            "parent": parent[mask],
            "cycle": faults["cycle"][mask],
            "other": "'" + shown_code(faults["clash_with"][mask]) + "'",
        }
        template = TREE_MESSAGES[rule].replace("{depth}", str(MAX_DEPTH))
        msg = _fill(template, parts) + "; " + BOARD_NOTE
        shown = shown_code(bad[column][mask])
        out.append(_issues(bad.index.to_numpy()[mask], column, rule, shown, "reject", lambda _m, m=msg: m))
    return pd.concat(out, ignore_index=True)


def _fill(template: str, parts: dict[str, pd.Series]) -> pd.Series:
    """``template`` with ``{key}`` replaced by each row's value (vectorised string concatenation)."""
    pieces = re.split(r"\{(\w+)\}", template)
    index = next(iter(parts.values())).index
    out = pd.Series(pieces[0], index=index, dtype="string")
    for i in range(1, len(pieces), 2):
        out = out + parts[pieces[i]].astype("string").fillna("").to_numpy() + pieces[i + 1]
    return out.reset_index(drop=True)


def members_outside_tree(
    members: pd.DataFrame, organizations: pd.DataFrame, source: str = "central"
) -> pd.DataFrame:
    """One quarantine line per cell that active or exempt members of ``members`` belong to but
    the (validated) ``organizations`` do not hold: missing from the table, or quarantined with
    it (an unsafe code, a cycle, an orphan). The members stay: they are reconciled as usual and
    their findings, which no committee receives, are listed for the board (unplaced). Lines
    carry no row (one per cell, not per member); the members' counts do not change."""
    from schemas.contract import QUARANTINE_COLUMNS, SCREENED_STATUSES

    if members.empty:
        return empty_quarantine()
    cell = members["cell_code"].astype("string")
    status = members["status"].astype("string")
    live = status.isin(SCREENED_STATUSES).fillna(False).to_numpy(dtype=bool) & cell.notna().to_numpy()
    codes = organizations["org_code"].astype("string").dropna().unique()
    arr = pyarrow.array(cell.astype(object).where(cell.notna(), None), pyarrow.string())
    known = pc.is_in(arr, value_set=pyarrow.array(np.asarray(codes, dtype=object), pyarrow.string()))
    outside = live & ~known.to_numpy(zero_copy_only=False)
    if not outside.any():
        return empty_quarantine()
    counts = cell[outside].value_counts().sort_index()
    shown = shown_code(pd.Series(counts.index, dtype="string"))
    message = (
        "Chi bộ mã '"
        + shown
        + "' không có trong cây tổ chức (thiếu trong bảng tổ chức hoặc bị cách ly): "
        + pd.Series(counts.to_numpy(), dtype="string").to_numpy()
        + " đảng viên đang sinh hoạt vẫn được đối chiếu; phát hiện của họ được liệt kê cho Ban Tổ chức "
        "(committees/_ban-to-chuc) — sửa mã chi bộ của đảng viên hoặc bổ sung chi bộ vào bảng tổ chức"
    )
    out = pd.DataFrame(
        {
            "source": f"{source}.members",
            "sheet": "members",
            "row": pd.array([pd.NA] * len(counts), dtype="Int64"),
            "column": "cell_code",
            "rule": "cell_not_in_tree",
            "value": shown.to_numpy(),
            "message": message.to_numpy(),
        }
    )
    return out[QUARANTINE_COLUMNS]


def validate_table(
    table: str,
    raw: pd.DataFrame,
    source: str = "central",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One central table -> (accepted rows, quarantine, notes). Row numbers are 1-based record
    positions in the export."""
    raw = raw.reset_index(drop=True)
    # A partition's rows carry their record number in the whole export (connectors.partitions).
    partitioned = "_record" in raw.columns
    records = raw.pop("_record").to_numpy() if partitioned else np.arange(1, len(raw) + 1)
    # The mapping file may leave a column in another case/spacing: match it like a header.
    wanted = {re.sub(r"[^a-z0-9]", "", c.lower()): c for c in CENTRAL_TABLES[table]}
    raw = raw.rename(
        columns={c: wanted.get(re.sub(r"[^a-z0-9]", "", str(c).lower()), c) for c in raw.columns}
    )
    ctx = Ctx(
        source=f"{source}.{table}",
        sheet=table,
        rows=pd.Series(records),
        row_word="Bản ghi",
    )
    clean, issues = normalize_columns(raw, SPECS[table], ctx)
    clean = clean[CENTRAL_TABLES[table]]
    rejected = set(issues.loc[issues["severity"] == "reject", "_pos"].astype(int))
    alive = clean.drop(index=list(rejected)) if rejected else clean
    order = alive["updated_at"] if table == "members" else None
    dup = duplicate_issues(alive, CENTRAL_KEYS[table], ctx, order=order)
    dup_pos = set(dup["_pos"].astype(int)) if len(dup) else set()
    checked = alive.drop(index=list(dup_pos)) if dup_pos else alive
    model_issues = run_model(checked, MODELS[table], WARN_CHECKS.get(table, {}), CHECK_COLUMNS)
    if table == "organizations":  # the tree itself: unsafe codes, cycles, orphans (schemas.tree)
        model_issues = pd.concat([model_issues, tree_issues(checked, clean["org_code"])], ignore_index=True)
    all_issues = (
        pd.concat([x for x in (issues, dup, model_issues) if len(x)], ignore_index=True)
        if len(issues) + len(dup) + len(model_issues)
        else issues
    )
    accepted, quarantine, notes = split(clean, all_issues, ctx)
    if partitioned:  # keep the export order across partitions (see connectors.partitions)
        accepted = accepted.assign(_record=records[accepted.index.to_numpy()])
    return accepted.reset_index(drop=True), quarantine, notes


def validate_central(
    raw: dict[str, pd.DataFrame],
    source: str = "central",
    notes_out: list | None = None,
    tables: list[str] | None = None,
) -> tuple[CentralData, pd.DataFrame, dict]:
    """Normalise and validate every central table.

    Returns (accepted data, quarantine rows, counts) where counts[table] = {read, accepted,
    quarantined, warnings: {check: n}, normalized: {step: n}}; read == accepted + quarantined.
    Notes (automatic fixes and cross-field warnings, one line per row and rule) are appended to
    ``notes_out`` when given. A missing table is an empty one. ``tables``: validate and count only
    these (a partition's member tables, or the whole ones); the others are empty.
    """
    accepted_tables: dict[str, pd.DataFrame] = {}
    quarantines: list[pd.DataFrame] = []
    counts: dict[str, dict] = {}
    for table, columns in CENTRAL_TABLES.items():
        frame = raw.get(table) if tables is None or table in tables else None
        if frame is None:
            frame = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
        accepted, quarantine, notes = validate_table(table, frame, source)
        accepted_tables[table] = accepted
        if tables is not None and table not in tables:
            continue
        quarantines.append(quarantine)
        sev = notes["severity"] if len(notes) else pd.Series(dtype="string")
        counts[table] = {
            "read": len(frame),
            "accepted": len(accepted),
            "quarantined": len(quarantine),
            "warnings": {str(k): int(v) for k, v in notes.loc[sev == "warn", "rule"].value_counts().items()},
            "normalized": {
                str(k): int(v) for k, v in notes.loc[sev == "note", "rule"].value_counts().items()
            },
        }
        assert counts[table]["read"] == counts[table]["accepted"] + counts[table]["quarantined"], table
        if notes_out is not None and len(notes):
            notes_out.append(notes)
    q = [x for x in quarantines if len(x)]
    quarantine = pd.concat(q, ignore_index=True) if q else empty_quarantine()
    return CentralData(**accepted_tables), quarantine, counts
