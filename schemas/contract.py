"""Names of the data contract (../shared/contract.md), in one place.

Central tables keep the contract's English column names. Workbook sheets have
Vietnamese headers; inside dvsync every sheet is renamed to the English column
names below, so rules never see a Vietnamese header. Lineage columns
(``_source``, ``_sheet``, ``_row``) follow every submitted row.
"""

from __future__ import annotations

from enum import StrEnum

# --- 1. Central database -------------------------------------------------------------------
CENTRAL_TABLES: dict[str, list[str]] = {
    "organizations": ["org_code", "name", "kind", "parent_code", "active"],
    "members": [
        "member_code",
        "full_name",
        "gender",
        "birth_date",
        "personal_id",
        "dossier_no",
        "card_no",
        "admission_decision_date",
        "admission_date",
        "official_date",
        "cell_code",
        "status",
        "status_date",
        "updated_at",
    ],
    "ratings": ["member_code", "year", "rating"],
    "disciplines": ["member_code", "decided_on", "form", "decided_by"],
    "transfers": [
        "transfer_id",
        "member_code",
        "kind",
        "from_cell",
        "to_org",
        "letter_date",
        "notice_sent_on",
        "received_on",
        "dossier_received_on",
        "temporary_until",
        "returned_on",
        "fees_paid_through",
    ],
    "dossier_documents": ["member_code", "doc_type", "year", "received_on"],
    "badges": ["member_code", "years", "awarded_on"],
    "activity_gaps": ["member_code", "from_date", "to_date"],
}
CENTRAL_KEYS: dict[str, list[str]] = {
    "organizations": ["org_code"],
    "members": ["member_code"],
    "ratings": ["member_code", "year"],
    "disciplines": ["member_code", "decided_on", "form"],
    "transfers": ["transfer_id"],
    "dossier_documents": ["member_code", "doc_type", "year"],
    "badges": ["member_code", "years"],
    "activity_gaps": ["member_code", "from_date"],
}
CENTRAL_DATE_COLUMNS: dict[str, list[str]] = {
    "members": [
        "birth_date",
        "admission_decision_date",
        "admission_date",
        "official_date",
        "status_date",
        "updated_at",
    ],
    "disciplines": ["decided_on"],
    "transfers": [
        "letter_date",
        "notice_sent_on",
        "received_on",
        "dossier_received_on",
        "temporary_until",
        "returned_on",
    ],
    "dossier_documents": ["received_on"],
    "badges": ["awarded_on"],
    "activity_gaps": ["from_date", "to_date"],
}
# Whole numbers and flags of the central tables (a database hands them out as integers).
CENTRAL_INTEGER_COLUMNS: dict[str, list[str]] = {
    "organizations": ["active"],
    "ratings": ["year"],
    "dossier_documents": ["year"],
    "badges": ["years"],
}

ORG_KINDS = ["province", "upper", "grassroots_committee", "grassroots_cell", "cell"]
CELL_KINDS = ["cell", "grassroots_cell"]  # organisations that hold members
GRASSROOTS_KINDS = ["grassroots_committee", "grassroots_cell"]  # "committee_code" of a finding
# An organisation code names a folder and a file of the outputs (committees/<org_code>/), so it is
# checked before it becomes one (schemas.tree.safe_org_codes): ASCII letters and digits in groups
# joined by a single ".", "-" or "_" (93.001.000.001.000, HN-01, a1_c1): no "..", no "/" or "\",
# no space, colon, <>"|?* or control character; at most 64 characters; not a Windows device name
# (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also before a dot). An organisation whose code fails is
# quarantined (rule org_code_unsafe).
ORG_CODE_PATTERN = r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*"
ORG_CODE_MAX_LENGTH = 64
RESERVED_FILE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
GENDERS = ["Nam", "Nữ"]
# How gender may be written, in the central export or a cell's workbook -> the contract's value.
GENDER_LABELS = {"Nam": "Nam", "M": "Nam", "male": "Nam", "Nữ": "Nữ", "F": "Nữ", "female": "Nữ", "nu": "Nữ"}
# Party badge award days (month, day): 3/2, 19/5, 2/9, 7/11 (HD 01-HD/TW point 18).
AWARD_DAYS = [(2, 3), (5, 19), (9, 2), (11, 7)]


class Severity(StrEnum):
    """How grave a list's findings are (schemas.lists)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(StrEnum):
    """A finding's status in findings.csv: the history's (rules.lifecycle: new, open, resolved), and
    laid over it the committees' answers (rules.answers: explained, accepted)."""

    NEW = "new"
    OPEN = "open"
    RESOLVED = "resolved"
    EXPLAINED = "explained"
    ACCEPTED = "accepted"


MEMBER_STATUSES = ["active", "exempt", "transferred_out", "deceased", "removed", "expelled", "left"]
SCREENED_STATUSES = ["active", "exempt"]
INACTIVE_STATUSES = ["transferred_out", "deceased", "removed", "expelled", "left"]
RATINGS = ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]
RATING_LABELS = {
    "HTXSNV": "Hoàn thành xuất sắc nhiệm vụ",
    "HTTNV": "Hoàn thành tốt nhiệm vụ",
    "HTNV": "Hoàn thành nhiệm vụ",
    "KHTNV": "Không hoàn thành nhiệm vụ",
}
STUDENT_RATINGS = ["Xuất sắc", "Giỏi", "Khá", "Trung bình"]
DISCIPLINE_FORMS = ["khien_trach", "canh_cao", "cach_chuc", "khai_tru"]
TRANSFER_KINDS = ["official", "temporary"]
DOC_TYPES = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV", "QD-CT", "3-HSDV"]
BADGE_MILESTONES = [30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90]

# --- 2. Cell submissions -----------------------------------------------------------------------
# sheet -> {Vietnamese header: internal column}. Headers are matched ignoring case, diacritics
# and spacing (see schemas.normalize.header_key).
INFO_SHEET = "ThongTin"
INFO_LABELS: dict[str, str] = {
    "Mã chi bộ": "cell_code",
    "Kỳ báo cáo": "period",  # MM/YYYY in the workbook, YYYY-MM inside
    "Ngày lập": "created_on",
    "Bí thư chi bộ": "secretary",
}
SHEETS: dict[str, dict[str, str]] = {
    "DanhSach": {
        "Mã đảng viên": "member_code",
        "Họ và tên": "full_name",
        "Ngày sinh": "birth_date",
        "Giới tính": "gender",
        "Số CCCD": "personal_id",
        "Ngày vào Đảng": "admission_date",
        "Ngày chính thức": "official_date",
        "Tình trạng": "roster_status",
    },
    "SinhHoat": {
        "Mã đảng viên": "member_code",
        "Tháng": "month",  # MM/YYYY in the workbook, YYYY-MM inside
        "Dự sinh hoạt": "attended",
        "Có lý do": "excused",
        "Đã đóng đảng phí": "fees_paid",
    },
    "XepLoai": {"Mã đảng viên": "member_code", "Năm": "year", "Xếp loại": "rating"},
    "ChuyenDi": {
        "Mã đảng viên": "member_code",
        "Loại": "kind",
        "Nơi chuyển đến": "to_org",
        "Ngày giới thiệu": "letter_date",
        "Ngày gửi thông báo": "notice_sent_on",
        "Đảng phí đã đóng hết tháng": "fees_paid_through",
    },
    "ChuyenDen": {
        "Mã đảng viên": "member_code",
        "Loại": "kind",
        "Nơi chuyển đi": "from_org",
        "Ngày giới thiệu": "letter_date",
        "Ngày tiếp nhận": "received_on",
        "Ngày nhận hồ sơ": "dossier_received_on",
    },
    "CamTinh": {
        "Số CCCD": "personal_id",
        "Họ và tên": "full_name",
        "Ngày sinh": "birth_date",
        "Đối tượng": "candidate_kind",
        "Xếp loại năm 1": "rating_y1",
        "Xếp loại năm 2": "rating_y2",
        "Xếp loại năm 3": "rating_y3",
        "Chiến sĩ thi đua": "emulation_fighter",
        "Khen thưởng cấp tỉnh": "provincial_merit",
        "Ngày cấp giấy CN-NTVĐ": "course_certificate_on",
        "Đã thẩm tra lý lịch": "background_verified",
        "Ngày kết luận tiêu chuẩn chính trị": "political_conclusion_on",
    },
    "DanhGia": {"Mã đảng viên": "member_code", "Nhóm": "category", "Ghi chú": "note"},
}
REQUIRED_SHEETS = [INFO_SHEET, "DanhSach"]
# Internal table name of each sheet (SubmissionData attribute).
SHEET_TABLES: dict[str, str] = {
    "DanhSach": "roster",
    "SinhHoat": "activity",
    "XepLoai": "ratings",
    "ChuyenDi": "transfers_out",
    "ChuyenDen": "transfers_in",
    "CamTinh": "candidates",
    "DanhGia": "screening",
}
ROSTER_STATUSES = {"Đang sinh hoạt": "active", "Miễn sinh hoạt": "exempt", "Sinh hoạt tạm thời": "guest"}
YES_VALUES = ["Có", "x", "X"]
NO_VALUES = ["Không", ""]
TRANSFER_KIND_LABELS = {"Chính thức": "official", "Tạm thời": "temporary"}
CANDIDATE_KINDS = {"Cán bộ": "cadre", "Học sinh, sinh viên": "student"}
LINEAGE_COLUMNS = ["_source", "_sheet", "_row"]  # file name, sheet, Excel row number (1-based)

# --- 3. Outputs --------------------------------------------------------------------------------
FINDING_COLUMNS = [
    "finding_id",
    "as_of",
    "list_code",
    "severity",
    "org_code",
    "committee_code",
    "member_code",
    "field",
    "central_value",
    "cell_value",
    "due_date",
    "detail",
    "rule",
    "status",
    "first_seen",
]
# Columns a rule returns; the rest are filled in by rules.findings.finalize().
RULE_OUTPUT_COLUMNS = [
    "list_code",
    "org_code",
    "member_code",
    "field",
    "central_value",
    "cell_value",
    "due_date",
    "detail",
    "ref",
]
QUARANTINE_COLUMNS = ["source", "sheet", "row", "column", "rule", "value", "message"]

LIST_CODES = [
    "ROSTER_MISSING_IN_CELL",
    "ROSTER_NOT_IN_CENTRAL",
    "ROSTER_WRONG_CELL",
    "ROSTER_INACTIVE_LISTED",
    "ROSTER_FIELD_MISMATCH",
    "DUPLICATE_PERSON",
    "SUBMISSION_MISSING",
    "INVALID_PERSONAL_ID",
    "TRANSFER_OVERDUE",
    "TRANSFER_NOT_NOTIFIED",
    "TRANSFER_DOSSIER_MISSING",
    "TRANSFER_UNMATCHED_IN",
    "TRANSFER_STILL_ON_SENDER",
    "TEMP_TRANSFER_EXPIRED",
    "TRANSFER_FEES_GAP",
    "DOSSIER_MISSING_DOC",
    "PROBATION_OVERDUE",
    "SCREEN_NOT_COMPLETED",
    "SCREEN_TRANSFER_RULES",
    "SCREEN_DISCIPLINE",
    "SCREEN_LOW_STANDING",
    "REMOVAL_ABSENCE_OR_FEES",
    "REMOVAL_TWO_YEARS_KHT",
    "BADGE_DUE",
    "BADGE_WITHHELD",
    "ADMISSION_ELIGIBLE",
    "ADMISSION_NOT_ELIGIBLE",
]
ROSTER_FIELDS = ["full_name", "birth_date", "gender", "personal_id", "admission_date", "official_date"]
