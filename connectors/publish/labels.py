"""Vietnamese labels of the published outputs (no heavy imports: used by worker processes)."""

from __future__ import annotations

# list code -> Vietnamese title (printed at the top of each list sheet and in the summaries).
LIST_TITLES: dict[str, str] = {
    "ROSTER_MISSING_IN_CELL": "Đảng viên có trong CSDL nhưng thiếu trong danh sách chi bộ",
    "ROSTER_NOT_IN_CENTRAL": "Đảng viên có trong danh sách chi bộ nhưng không có trong CSDL",
    "ROSTER_WRONG_CELL": "Đảng viên chi bộ kê khai nhưng CSDL ghi ở chi bộ khác",
    "ROSTER_INACTIVE_LISTED": "Đã chuyển đi, từ trần hoặc ra khỏi Đảng nhưng vẫn có trong danh sách chi bộ",
    "ROSTER_FIELD_MISMATCH": "Thông tin đảng viên sai lệch giữa CSDL và danh sách chi bộ",
    "DUPLICATE_PERSON": "Trùng đảng viên (trùng số định danh hoặc có tên ở hai chi bộ)",
    "SUBMISSION_MISSING": "Chi bộ chưa gửi báo cáo kỳ này",
    "INVALID_PERSONAL_ID": "Số định danh cá nhân (CCCD) trong CSDL không hợp lệ",
    "TRANSFER_OVERDUE": "Chuyển sinh hoạt chính thức quá 30 ngày làm việc chưa được tiếp nhận",
    "TRANSFER_NOT_NOTIFIED": "Chuyển sinh hoạt chính thức chưa gửi phiếu báo cho nơi đến",
    "TRANSFER_DOSSIER_MISSING": "Đã tiếp nhận sinh hoạt nhưng chưa nhận được hồ sơ đảng viên",
    "TRANSFER_UNMATCHED_IN": "Chi bộ báo tiếp nhận đảng viên không có giấy giới thiệu tương ứng",
    "TRANSFER_STILL_ON_SENDER": "Đã chuyển sinh hoạt chính thức nhưng còn trong danh sách chi bộ cũ",
    "TEMP_TRANSFER_EXPIRED": "Sinh hoạt tạm thời quá hạn chưa trở về",
    "TRANSFER_FEES_GAP": "Chưa đóng đủ đảng phí đến tháng chuyển sinh hoạt",
    "DOSSIER_MISSING_DOC": "Hồ sơ đảng viên còn thiếu tài liệu",
    "PROBATION_OVERDUE": "Đảng viên dự bị quá hạn chưa được công nhận chính thức",
    "SCREEN_NOT_COMPLETED": "Rà soát nhóm 1: không hoàn thành nhiệm vụ năm gần nhất",
    "SCREEN_TRANSFER_RULES": "Rà soát nhóm 2: vi phạm quy định chuyển sinh hoạt đảng",
    "SCREEN_DISCIPLINE": "Rà soát nhóm 3: bị kỷ luật trong 12 tháng qua",
    "SCREEN_LOW_STANDING": "Rà soát nhóm 4: chi bộ đề nghị xem xét",
    "REMOVAL_ABSENCE_OR_FEES": "Xem xét xoá tên: bỏ sinh hoạt hoặc không đóng đảng phí 3 tháng trong năm",
    "REMOVAL_TWO_YEARS_KHT": "Xem xét xoá tên: 2 năm liền không hoàn thành nhiệm vụ",
    "BADGE_DUE": "Đảng viên đến hạn xét tặng Huy hiệu Đảng",
    "BADGE_WITHHELD": "Đến niên hạn nhưng chưa đủ điều kiện tặng Huy hiệu Đảng",
    "ADMISSION_ELIGIBLE": "Quần chúng cảm tình đủ tiêu chuẩn kết nạp",
    "ADMISSION_NOT_ELIGIBLE": "Quần chúng cảm tình chưa đủ tiêu chuẩn kết nạp",
}

# list code -> worksheet name (Excel: at most 31 characters, none of []:*?/\, unique).
LIST_SHEET_NAMES: dict[str, str] = {
    "ROSTER_MISSING_IN_CELL": "Thiếu trong DS chi bộ",
    "ROSTER_NOT_IN_CENTRAL": "Không có trong CSDL",
    "ROSTER_WRONG_CELL": "Sai chi bộ",
    "ROSTER_INACTIVE_LISTED": "Không còn SH vẫn kê",
    "ROSTER_FIELD_MISMATCH": "Sai lệch thông tin",
    "DUPLICATE_PERSON": "Trùng đảng viên",
    "SUBMISSION_MISSING": "Chưa gửi báo cáo",
    "INVALID_PERSONAL_ID": "CCCD không hợp lệ",
    "TRANSFER_OVERDUE": "Chuyển SH quá hạn",
    "TRANSFER_NOT_NOTIFIED": "Chuyển SH chưa báo",
    "TRANSFER_DOSSIER_MISSING": "Chưa nhận hồ sơ chuyển đến",
    "TRANSFER_UNMATCHED_IN": "Tiếp nhận không khớp",
    "TRANSFER_STILL_ON_SENDER": "Còn ở chi bộ cũ",
    "TEMP_TRANSFER_EXPIRED": "SH tạm thời quá hạn",
    "TRANSFER_FEES_GAP": "Thiếu đảng phí khi chuyển",
    "DOSSIER_MISSING_DOC": "Hồ sơ thiếu tài liệu",
    "PROBATION_OVERDUE": "Dự bị quá hạn",
    "SCREEN_NOT_COMPLETED": "Rà soát nhóm 1",
    "SCREEN_TRANSFER_RULES": "Rà soát nhóm 2",
    "SCREEN_DISCIPLINE": "Rà soát nhóm 3",
    "SCREEN_LOW_STANDING": "Rà soát nhóm 4",
    "REMOVAL_ABSENCE_OR_FEES": "Xoá tên - bỏ SH, đảng phí",
    "REMOVAL_TWO_YEARS_KHT": "Xoá tên - 2 năm KHTNV",
    "BADGE_DUE": "Đến hạn Huy hiệu",
    "BADGE_WITHHELD": "Chưa đủ ĐK Huy hiệu",
    "ADMISSION_ELIGIBLE": "Đủ TC kết nạp",
    "ADMISSION_NOT_ELIGIBLE": "Chưa đủ TC kết nạp",
}

# findings.csv column -> Vietnamese header in workbooks.
COLUMN_HEADERS: dict[str, str] = {
    "finding_id": "Mã phát hiện",
    "as_of": "Ngày đối chiếu",
    "list_code": "Mã danh sách",
    "severity": "Mức độ",
    "org_code": "Mã tổ chức đảng",
    "org_name": "Tên tổ chức đảng",
    "committee_code": "Mã tổ chức cơ sở đảng",
    "member_code": "Mã đảng viên",
    "field": "Nội dung sai lệch",
    "central_value": "Giá trị trong CSDL",
    "cell_value": "Giá trị chi bộ báo cáo",
    "due_date": "Hạn xử lý",
    "detail": "Diễn giải",
    "rule": "Căn cứ",
    "status": "Trạng thái",
    "first_seen": "Ngày phát hiện",
}

SEVERITY_LABELS: dict[str, str] = {"error": "Sai sót", "warning": "Cảnh báo", "info": "Thông tin"}
STATUS_LABELS: dict[str, str] = {"new": "Mới", "open": "Chưa khắc phục", "resolved": "Đã khắc phục"}

# `field` values -> what a secretary calls them (roster fields, dossier documents).
FIELD_LABELS: dict[str, str] = {
    "full_name": "Họ và tên",
    "birth_date": "Ngày sinh",
    "gender": "Giới tính",
    "personal_id": "Số CCCD",
    "admission_date": "Ngày vào Đảng",
    "official_date": "Ngày chính thức",
    "cell_code": "Chi bộ",
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
