"""Vietnamese labels of every internal name a person could otherwise read: field names, statuses,
categories, person types, discipline forms, organisation kinds, finding statuses and severities,
with the conventions of Vietnamese outputs (dd/mm/yyyy, mm/yyyy, "3.005").

One table, at the bottom floor: the rules' ``detail`` sentences, the committee workbooks and the
board report all read their words here (``connectors.publish.labels`` re-exports them for the
workbook writers). Imports nothing of dvsync but ``schemas.contract`` and ``schemas.lists``;
``pandas`` only inside the vectorised helpers.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING

from schemas.contract import (
    BADGE_MILESTONES,
    CANDIDATE_KINDS,
    CENTRAL_TABLES,
    DISCIPLINE_FORMS,
    FINDING_COLUMNS,
    INFO_LABELS,
    MEMBER_STATUSES,
    ORG_KINDS,
    RATING_LABELS,
    SHEETS,
    TRANSFER_KIND_LABELS,
)
from schemas.lists import ALL_FIELDS, CODES

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_LABELS: dict[str, str] = {"error": "Sai sót", "warning": "Cảnh báo", "info": "Thông tin"}

# A finding's status (findings.csv `status`).
FINDING_STATUS_LABELS: dict[str, str] = {
    "new": "Mới",
    "open": "Chưa khắc phục",
    "resolved": "Đã khắc phục",
    "explained": "Đã giải trình, chờ Ban Tổ chức",
    "accepted": "Giải trình được chấp nhận",
}

# A member's status in central (members.status) and on a cell's roster (roster_status; "guest"
# is a member on temporary transfer listed by the host cell).
MEMBER_STATUS_LABELS: dict[str, str] = {
    "active": "Đang sinh hoạt",
    "exempt": "Miễn sinh hoạt",
    "transferred_out": "Đã chuyển sinh hoạt đi",
    "deceased": "Đã từ trần",
    "removed": "Đã xoá tên",
    "expelled": "Đã bị khai trừ",
    "left": "Đã ra khỏi Đảng",
    "guest": "Sinh hoạt tạm thời",
}
assert set(MEMBER_STATUSES) <= set(MEMBER_STATUS_LABELS)

# Admission candidates (CamTinh `Đối tượng`).
PERSON_TYPE_LABELS: dict[str, str] = {code: label for label, code in CANDIDATE_KINDS.items()}

DISCIPLINE_LABELS: dict[str, str] = {
    "khien_trach": "Khiển trách",
    "canh_cao": "Cảnh cáo",
    "cach_chuc": "Cách chức",
    "khai_tru": "Khai trừ",
}
assert set(DISCIPLINE_FORMS) == set(DISCIPLINE_LABELS)

# Screening categories of KH 71-KH/ĐU §2.2 (DanhGia `Nhóm`).
CATEGORY_LABELS: dict[str, str] = {
    "1": "Nhóm 1: không hoàn thành nhiệm vụ",
    "2": "Nhóm 2: vi phạm quy định chuyển sinh hoạt đảng",
    "3": "Nhóm 3: vi phạm kỷ luật Đảng, pháp luật Nhà nước",
    "4": "Nhóm 4: thiếu gương mẫu, uy tín thấp",
}

ORG_KIND_LABELS: dict[str, str] = {
    "province": "Đảng bộ tỉnh",
    "upper": "Đảng bộ cấp trên trực tiếp cơ sở",
    "grassroots_committee": "Đảng bộ cơ sở",
    "grassroots_cell": "Chi bộ cơ sở",
    "cell": "Chi bộ",
}
assert set(ORG_KINDS) == set(ORG_KIND_LABELS)

TRANSFER_KIND_NAMES: dict[str, str] = {code: label for label, code in TRANSFER_KIND_LABELS.items()}

DOC_LABELS: dict[str, str] = {
    "CN-NTVD": "Giấy chứng nhận học lớp nhận thức về Đảng (CN-NTVĐ)",
    "1-KND": "Đơn xin vào Đảng (1-KNĐ)",
    "2-KND": "Lý lịch của người xin vào Đảng (2-KNĐ)",
    "3-KND": "Giấy giới thiệu người vào Đảng (3-KNĐ)",
    "QD-KN": "Quyết định kết nạp",
    "1-HSDV": "Lý lịch đảng viên (1-HSĐV)",
    "2-HSDV": "Phiếu đảng viên (2-HSĐV)",
    "QD-CT": "Quyết định công nhận đảng viên chính thức",
    "3-HSDV": "Phiếu bổ sung hồ sơ đảng viên (3-HSĐV)",
}

# --- field names -------------------------------------------------------------------------------
# Every column of the central tables and of the cells' sheets (as dvsync names them inside), and
# every value of a finding's `field`: what a secretary calls it.
FIELD_LABELS: dict[str, str] = {
    # organizations
    "org_code": "Mã tổ chức đảng",
    "name": "Tên tổ chức đảng",
    "kind": "Loại",
    "parent_code": "Mã tổ chức đảng cấp trên",
    "active": "Còn hoạt động",
    # members
    "member_code": "Mã đảng viên",
    "full_name": "Họ và tên",
    "gender": "Giới tính",
    "birth_date": "Ngày sinh",
    "personal_id": "Số CCCD",
    "dossier_no": "Số lý lịch",
    "card_no": "Số thẻ đảng viên",
    "admission_decision_date": "Ngày quyết định kết nạp",
    "admission_date": "Ngày vào Đảng",
    "official_date": "Ngày chính thức",
    "cell_code": "Chi bộ",
    "status": "Tình trạng đảng viên",
    "status_date": "Ngày thay đổi tình trạng",
    "updated_at": "Ngày cập nhật",
    # ratings, disciplines
    "year": "Năm",
    "rating": "Xếp loại chất lượng",
    "decided_on": "Ngày quyết định kỷ luật",
    "form": "Hình thức kỷ luật",
    "decided_by": "Cấp quyết định kỷ luật",
    # transfers
    "transfer_id": "Mã chuyển sinh hoạt",
    "from_cell": "Chi bộ chuyển đi",
    "to_org": "Nơi chuyển đến",
    "letter_date": "Ngày giới thiệu",
    "notice_sent_on": "Ngày gửi phiếu báo",
    "received_on": "Ngày tiếp nhận",
    "dossier_received_on": "Ngày nhận hồ sơ",
    "temporary_until": "Sinh hoạt tạm thời đến ngày",
    "returned_on": "Ngày trở về",
    "fees_paid_through": "Đảng phí đã đóng hết tháng",
    # dossier documents, badges, gaps
    "doc_type": "Loại tài liệu hồ sơ",
    "years": "Số năm tuổi Đảng",
    "awarded_on": "Ngày trao Huy hiệu",
    "from_date": "Từ ngày",
    "to_date": "Đến ngày",
    # what a finding is about (`field` values that are no column)
    "roster": "Danh sách chi bộ",
    "transfer": "Chuyển sinh hoạt đảng",
    "discipline": "Kỷ luật",
    "category": "Nhóm rà soát",
    "attendance": "Dự sinh hoạt chi bộ",
    "fees": "Đóng đảng phí",
    "period": "Báo cáo kỳ",
    "roster_status": "Tình trạng (chi bộ kê khai)",
    **PERSON_TYPE_LABELS,
    **DOC_LABELS,
    **{str(y): f"Huy hiệu {y} năm tuổi Đảng" for y in BADGE_MILESTONES},
}
# The cells' own sheets: the header the cell wrote (contract §2), for what is not named above.
for _sheet in SHEETS.values():
    for _header, _name in _sheet.items():
        FIELD_LABELS.setdefault(_name, _header)
for _header, _name in INFO_LABELS.items():
    FIELD_LABELS.setdefault(_name, _header)
assert all(c in FIELD_LABELS for cols in CENTRAL_TABLES.values() for c in cols)
assert all(f in FIELD_LABELS for f in ALL_FIELDS)

# findings.csv column -> Vietnamese header of the committee workbooks.
COLUMN_HEADERS: dict[str, str] = {
    "finding_id": "Mã phát hiện",
    "as_of": "Ngày đối chiếu",
    "list_code": "Mã danh sách",
    "severity": "Mức độ",
    "org_code": "Mã tổ chức đảng",
    "org_name": "Tên tổ chức đảng",
    "committee_code": "Mã tổ chức cơ sở đảng",
    "member_code": "Mã đảng viên",
    "candidate_id": "Số CCCD (che)",
    "field": "Nội dung sai lệch",
    "central_value": "Giá trị trong CSDL",
    "cell_value": "Giá trị chi bộ báo cáo",
    "due_date": "Hạn xử lý",
    "detail": "Diễn giải",
    "rule": "Căn cứ",
    "status": "Trạng thái",
    "first_seen": "Ngày phát hiện",
}
assert set(FINDING_COLUMNS) <= set(COLUMN_HEADERS)
# What identifies a list's subject (schemas.lists.ListSpec.subject) -> header of `member_code`.
SUBJECT_HEADERS: dict[str, str] = {
    "member": COLUMN_HEADERS["member_code"],
    "candidate": COLUMN_HEADERS["candidate_id"],
    "none": COLUMN_HEADERS["member_code"],
}

# `field` -> labels of the values central_value / cell_value may hold for it.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": MEMBER_STATUS_LABELS,
    "rating": {**RATING_LABELS},
    "discipline": DISCIPLINE_LABELS,
    "category": CATEGORY_LABELS,
}

# Internal names that must never reach a page a person reads (tests/publish/test_vietnamese.py
# scans the committee workbooks and the board report for them as whole words).
INTERNAL_CODES: frozenset[str] = frozenset(
    {
        *CODES,
        *(f for f in FIELD_LABELS if re.fullmatch(r"[a-z]+(?:_[a-z]+)*", f)),
        *MEMBER_STATUS_LABELS,
        *FINDING_STATUS_LABELS,
        *SEVERITY_LABELS,
        *PERSON_TYPE_LABELS,
        *DISCIPLINE_LABELS,
        *ORG_KIND_LABELS,
        *TRANSFER_KIND_NAMES,
        *DOC_LABELS,
    }
)

# --- Vietnamese conventions --------------------------------------------------------------------
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def ddmmyyyy(value: str | None) -> str:
    """ISO date text -> dd/mm/yyyy; anything else unchanged ("" for None)."""
    m = _ISO_DATE.match(value or "")
    return f"{m[3]}/{m[2]}/{m[1]}" if m else (value or "")


def mmyyyy(value: str | None) -> str:
    """YYYY-MM -> MM/YYYY; anything else unchanged ("" for None)."""
    m = _ISO_MONTH.match(value or "")
    return f"{m[2]}/{m[1]}" if m else (value or "")


def vn_number(n: float | int) -> str:
    """An integer count with Vietnamese grouping: 3005 -> "3.005", -1200 -> "-1.200"."""
    return f"{int(n):,}".replace(",", ".")


def field_label(field: str | None) -> str:
    return FIELD_LABELS.get(field or "", field or "")


# sheet of a cell's workbook -> {internal column: the header the cell wrote}.
SHEET_HEADERS: dict[str, dict[str, str]] = {
    sheet: {name: header for header, name in cols.items()} for sheet, cols in SHEETS.items()
}


def column_label(sheet: str | None, column: str | None) -> str:
    """A column of a cell's workbook as the cell knows it: the header of that sheet (contract
    §2), else the field's label; a header already in Vietnamese stays as it is."""
    return SHEET_HEADERS.get(sheet or "", {}).get(column or "") or field_label(column)


def value_label(field: str | None, value: str | None) -> str:
    """A finding's central_value / cell_value as a person reads it: the label of a status,
    rating, discipline form or category; dates dd/mm/yyyy, months mm/yyyy; else unchanged."""
    if not value:
        return ""
    table = VALUE_LABELS.get(field or "")
    if table and value in table:
        return table[value]
    if value in MEMBER_STATUS_LABELS and field in ("status", "roster_status"):
        return MEMBER_STATUS_LABELS[value]
    return mmyyyy(ddmmyyyy(value))


def sentence(label: str) -> str:
    """A label inside a sentence: first letter lower case ("Đã từ trần" -> "đã từ trần")."""
    return label[:1].lower() + label[1:]


def status_phrase(status: pd.Series) -> pd.Series:
    """Member statuses as words inside a sentence ("đang sinh hoạt", "đã từ trần"); an unknown
    status is kept as it is (validation rejects those before the rules)."""
    words = {k: sentence(v) for k, v in MEMBER_STATUS_LABELS.items()}
    s = status.astype("string")
    return s.map(words).astype("string").fillna(s)


def org_names(organizations: pd.DataFrame | None) -> dict[str, str]:
    """org_code -> name, from the organisations table (empty when there is none)."""
    if organizations is None or organizations.empty or "name" not in organizations.columns:
        return {}
    codes = organizations["org_code"].astype("string")
    names = organizations["name"].astype("string")
    keep = (codes.notna() & names.notna()).to_numpy()
    return dict(zip(codes[keep], names[keep], strict=True))


OUT_OF_SCOPE = "ngoài phạm vi CSDL"

# One phrase map per organisations frame: the rules name organisations in a dozen lists, and
# rebuilding the map (and its hash table) for each was half of the roster rules' time at 1 M.
_PHRASES: dict[int, tuple[weakref.ref, pd.Series]] = {}


def _phrases(names: dict[str, str] | pd.DataFrame) -> pd.Series:
    """code -> "name (code)" as a Series indexed by code (its index hash is built once)."""
    import pandas as pd

    if isinstance(names, dict):
        codes = pd.Index(list(names), dtype="string")
        return pd.Series(list(names.values()), index=codes, dtype="string") + " (" + codes + ")"
    key = id(names)
    hit = _PHRASES.get(key)
    if hit is not None and hit[0]() is names:
        return hit[1]
    mapping = org_names(names)
    series = _phrases(mapping)
    for k in [k for k, (ref, _) in _PHRASES.items() if ref() is None]:
        del _PHRASES[k]
    _PHRASES[key] = (weakref.ref(names), series)
    return series


def org_phrase(codes: pd.Series, names: dict[str, str] | pd.DataFrame | None) -> pd.Series:
    """Organisation codes as a person reads them: "Chi bộ 3 (93.001.000.003)"; a code the
    database does not hold (a transfer's to_org may lie outside its scope): "93.999 (ngoài phạm
    vi CSDL)"; NA stays NA; ``names`` None: the codes as they are. Vectorised (one map); the
    organisations frame is assumed not to change while the rules run."""
    import pandas as pd

    c = codes.astype("string")
    if names is None:  # no organisations table at hand: the code alone, no claim about scope
        return c
    known = c.map(_phrases(names)).astype("string")
    return known.fillna(c + f" ({OUT_OF_SCOPE})").astype("string").where(c.notna(), pd.NA)
