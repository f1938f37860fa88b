"""The 27 lists of the contract (§4) in one registry: code -> family, severity, source, Vietnamese
title, worksheet name, the ``field`` values its findings carry, what identifies its subject and the
lists it depends on (the order in which ``rules.registry`` runs the rules).

Everything that names a list reads it from here: the rules' severities and sources
(``rules.findings.LISTS``), the committee workbooks' sheets and titles, the board report
(``connectors.publish.labels``), ``schemas.contract.LIST_CODES`` (checked equal by
``tests/publish/test_vietnamese.py``). The bottom floor: imports nothing of dvsync.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.contract import BADGE_MILESTONES, DOC_TYPES, ROSTER_FIELDS, Severity

FAMILIES = ["roster", "identity", "transfers", "dossier", "screening", "badges", "admission"]


@dataclass(frozen=True)
class ListSpec:
    code: str
    family: str  # the rules module that emits it (rules/<family>.py; roster also holds duplicates)
    severity: Severity  # given as its value ("error"), checked when the registry is built
    source: str  # the text cited in findings.csv's `rule`
    title: str  # Vietnamese title: top of its sheet, the summaries, the board report
    sheet: str  # worksheet name (Excel: at most 31 characters, none of []:*?/\, unique)
    fields: tuple[str, ...]  # the values of `field` its findings carry
    # What `member_code` holds: a member's code, a candidate's masked personal ID, or nothing.
    subject: str = "member"  # member | candidate | none
    # The lists this list's definition refers to (docs/rules.md): their rules run first
    # (rules.registry plans the order from this), and the rule may take their findings.
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))  # an unknown one fails at import


_MILESTONES = tuple(str(y) for y in BADGE_MILESTONES)

_SPECS = [
    ListSpec(
        "ROSTER_MISSING_IN_CELL",
        "roster",
        "error",
        "QĐ 294-QĐ/TW; HD 12-HD/BTCTW (quản lý danh sách đảng viên)",
        "Đảng viên có trong CSDL nhưng thiếu trong danh sách chi bộ",
        "Thiếu trong DS chi bộ",
        ("roster",),
    ),
    ListSpec(
        "ROSTER_NOT_IN_CENTRAL",
        "roster",
        "error",
        "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)",
        "Đảng viên có trong danh sách chi bộ nhưng không có trong CSDL",
        "Không có trong CSDL",
        ("member_code",),
    ),
    ListSpec(
        "ROSTER_WRONG_CELL",
        "roster",
        "error",
        "Điều lệ Đảng, QĐ 294-QĐ/TW: mỗi đảng viên sinh hoạt ở một chi bộ",
        "Đảng viên chi bộ kê khai nhưng CSDL ghi ở chi bộ khác",
        "Sai chi bộ",
        ("cell_code",),
        depends_on=("TRANSFER_STILL_ON_SENDER",),
    ),
    ListSpec(
        "ROSTER_INACTIVE_LISTED",
        "roster",
        "error",
        "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)",
        "Đã chuyển đi, từ trần hoặc ra khỏi Đảng nhưng vẫn có trong danh sách chi bộ",
        "Không còn SH vẫn kê",
        ("status",),
        depends_on=("TRANSFER_STILL_ON_SENDER",),
    ),
    ListSpec(
        "ROSTER_FIELD_MISMATCH",
        "roster",
        "warning",
        "HD 12-HD/BTCTW (cơ sở dữ liệu đảng viên)",
        "Thông tin đảng viên sai lệch giữa CSDL và danh sách chi bộ",
        "Sai lệch thông tin",
        tuple(ROSTER_FIELDS),
    ),
    ListSpec(
        "DUPLICATE_PERSON",
        "roster",
        "error",
        "CT 51-CT/TW (số định danh cá nhân là khoá)",
        "Trùng đảng viên (trùng số định danh hoặc có tên ở hai chi bộ)",
        "Trùng đảng viên",
        ("personal_id", "roster"),
    ),
    ListSpec(
        "SUBMISSION_MISSING",
        "roster",
        "warning",
        "KH 71-KH/ĐU (báo cáo định kỳ của chi bộ)",
        "Chi bộ chưa gửi báo cáo kỳ này",
        "Chưa gửi báo cáo",
        ("period",),
        subject="none",
    ),
    ListSpec(
        "INVALID_PERSONAL_ID",
        "identity",
        "error",
        "Luật Căn cước 2023; TT 59/2021/TT-BCA Điều 7 (cấu trúc số định danh)",
        "Số định danh cá nhân (CCCD) trong CSDL không hợp lệ",
        "CCCD không hợp lệ",
        ("personal_id",),
    ),
    ListSpec(
        "TRANSFER_OVERDUE",
        "transfers",
        "error",
        "QĐ 294-QĐ/TW điểm 6.3.1 (30 ngày làm việc)",
        "Chuyển sinh hoạt chính thức quá 30 ngày làm việc chưa được tiếp nhận",
        "Chuyển SH quá hạn",
        ("received_on",),
    ),
    ListSpec(
        "TRANSFER_NOT_NOTIFIED",
        "transfers",
        "warning",
        "KH 71-KH/ĐU §2.1.3 (phiếu báo chuyển sinh hoạt)",
        "Chuyển sinh hoạt chính thức chưa gửi phiếu báo cho nơi đến",
        "Chuyển SH chưa báo",
        ("notice_sent_on",),
    ),
    ListSpec(
        "TRANSFER_DOSSIER_MISSING",
        "transfers",
        "error",
        "QĐ 294-QĐ/TW điểm 6.3; HD 01-HD/TW điểm 8 (hồ sơ đảng viên)",
        "Đã tiếp nhận sinh hoạt nhưng chưa nhận được hồ sơ đảng viên",
        "Chưa nhận hồ sơ chuyển đến",
        ("dossier_received_on",),
    ),
    ListSpec(
        "TRANSFER_UNMATCHED_IN",
        "transfers",
        "error",
        "QĐ 294-QĐ/TW điểm 6.3",
        "Chi bộ báo tiếp nhận đảng viên không có giấy giới thiệu tương ứng",
        "Tiếp nhận không khớp",
        ("transfer",),
    ),
    ListSpec(
        "TRANSFER_STILL_ON_SENDER",
        "transfers",
        "error",
        "QĐ 294-QĐ/TW điểm 6.3",
        "Đã chuyển sinh hoạt chính thức nhưng còn trong danh sách chi bộ cũ",
        "Còn ở chi bộ cũ",
        ("roster",),
    ),
    ListSpec(
        "TEMP_TRANSFER_EXPIRED",
        "transfers",
        "warning",
        "QĐ 294-QĐ/TW điểm 6.3.2 (sinh hoạt tạm thời)",
        "Sinh hoạt tạm thời quá hạn chưa trở về",
        "SH tạm thời quá hạn",
        ("returned_on",),
    ),
    ListSpec(
        "TRANSFER_FEES_GAP",
        "transfers",
        "warning",
        "QĐ 342-QĐ/TW (đảng phí); QĐ 294-QĐ/TW điểm 6.3",
        "Chưa đóng đủ đảng phí đến tháng chuyển sinh hoạt",
        "Thiếu đảng phí khi chuyển",
        ("fees_paid_through",),
    ),
    ListSpec(
        "DOSSIER_MISSING_DOC",
        "dossier",
        "warning",
        "HD 01-HD/TW điểm 8; HD 12-HD/BTCTW (mẫu hồ sơ)",
        "Hồ sơ đảng viên còn thiếu tài liệu",
        "Hồ sơ thiếu tài liệu",
        tuple(DOC_TYPES),
    ),
    ListSpec(
        "PROBATION_OVERDUE",
        "dossier",
        "error",
        "Điều lệ Đảng Điều 5; HD 01-HD/TW (30 ngày làm việc)",
        "Đảng viên dự bị quá hạn chưa được công nhận chính thức",
        "Dự bị quá hạn",
        ("official_date",),
    ),
    ListSpec(
        "SCREEN_NOT_COMPLETED",
        "screening",
        "warning",
        "KH 71-KH/ĐU §2.2 nhóm 1; QĐ 124-QĐ/TW",
        "Rà soát nhóm 1: không hoàn thành nhiệm vụ năm gần nhất",
        "Rà soát nhóm 1",
        ("rating",),
    ),
    ListSpec(
        "SCREEN_TRANSFER_RULES",
        "screening",
        "warning",
        "KH 71-KH/ĐU §2.2 nhóm 2",
        "Rà soát nhóm 2: vi phạm quy định chuyển sinh hoạt đảng",
        "Rà soát nhóm 2",
        ("transfer",),
        depends_on=("TRANSFER_OVERDUE", "TRANSFER_DOSSIER_MISSING"),
    ),
    ListSpec(
        "SCREEN_DISCIPLINE",
        "screening",
        "warning",
        "KH 71-KH/ĐU §2.2 nhóm 3",
        "Rà soát nhóm 3: bị kỷ luật trong 12 tháng qua",
        "Rà soát nhóm 3",
        ("discipline",),
    ),
    ListSpec(
        "SCREEN_LOW_STANDING",
        "screening",
        "warning",
        "KH 71-KH/ĐU §2.2 nhóm 4",
        "Rà soát nhóm 4: chi bộ đề nghị xem xét",
        "Rà soát nhóm 4",
        ("category",),
    ),
    ListSpec(
        "REMOVAL_ABSENCE_OR_FEES",
        "screening",
        "error",
        "QĐ 294-QĐ/TW điểm 8.1 (3 tháng trong năm)",
        "Xem xét xoá tên: bỏ sinh hoạt hoặc không đóng đảng phí 3 tháng trong năm",
        "Xoá tên - bỏ SH, đảng phí",
        ("attendance", "fees"),
    ),
    ListSpec(
        "REMOVAL_TWO_YEARS_KHT",
        "screening",
        "error",
        "QĐ 294-QĐ/TW điểm 8.1 (2 năm liền)",
        "Xem xét xoá tên: 2 năm liền không hoàn thành nhiệm vụ",
        "Xoá tên - 2 năm KHTNV",
        ("rating",),
    ),
    ListSpec(
        "BADGE_DUE",
        "badges",
        "info",
        "HD 01-HD/TW điểm 18 (Huy hiệu Đảng)",
        "Đảng viên đến hạn xét tặng Huy hiệu Đảng",
        "Đến hạn Huy hiệu",
        _MILESTONES,
        depends_on=("REMOVAL_ABSENCE_OR_FEES", "REMOVAL_TWO_YEARS_KHT"),
    ),
    ListSpec(
        "BADGE_WITHHELD",
        "badges",
        "info",
        "HD 01-HD/TW điểm 18; KH 001 §2",
        "Đến niên hạn nhưng chưa đủ điều kiện tặng Huy hiệu Đảng",
        "Chưa đủ ĐK Huy hiệu",
        _MILESTONES,
        depends_on=("REMOVAL_ABSENCE_OR_FEES", "REMOVAL_TWO_YEARS_KHT"),
    ),
    ListSpec(
        "ADMISSION_ELIGIBLE",
        "admission",
        "info",
        "KH 71-KH/ĐU; KH 001 §1.2 (tiêu chuẩn kết nạp)",
        "Quần chúng cảm tình đủ tiêu chuẩn kết nạp",
        "Đủ TC kết nạp",
        ("cadre", "student"),
        subject="candidate",
    ),
    ListSpec(
        "ADMISSION_NOT_ELIGIBLE",
        "admission",
        "info",
        "KH 71-KH/ĐU; KH 001 §1.2 (tiêu chuẩn kết nạp)",
        "Quần chúng cảm tình chưa đủ tiêu chuẩn kết nạp",
        "Chưa đủ TC kết nạp",
        ("cadre", "student"),
        subject="candidate",
    ),
]

# code -> ListSpec, in publication order (the contract's order).
LISTS: dict[str, ListSpec] = {s.code: s for s in _SPECS}
CODES: list[str] = list(LISTS)
TITLES: dict[str, str] = {c: s.title for c, s in LISTS.items()}
SHEET_NAMES: dict[str, str] = {c: s.sheet for c, s in LISTS.items()}
SEVERITIES: dict[str, str] = {c: s.severity.value for c, s in LISTS.items()}
SOURCES: dict[str, str] = {c: s.source for c, s in LISTS.items()}
# Every value `field` can take, over all lists.
ALL_FIELDS: list[str] = list(dict.fromkeys(f for s in _SPECS for f in s.fields))
