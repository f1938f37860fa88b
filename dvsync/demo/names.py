"""Vietnamese names, places and codes used by the synthetic data generator.

Frequencies are rough national shares (family names) so that the data looks like a real roll.
Every string is NFC with the new-style tone placement ("Hòa", "Thủy"), as software 3.0 stores it.
"""

from __future__ import annotations

import numpy as np

FAMILY = [
    ("Nguyễn", 38.4),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 3.0),
    ("Huỳnh", 2.1),
    ("Phan", 4.5),
    ("Vũ", 2.0),
    ("Võ", 1.9),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Trương", 0.8),
    ("Đinh", 0.6),
    ("Lâm", 0.5),
    ("Mai", 0.4),
    ("Tô", 0.3),
    ("Châu", 0.3),
    ("Tạ", 0.3),
    ("Lương", 0.4),
    ("Hà", 0.4),
    ("Thái", 0.3),
    ("Cao", 0.4),
    ("Kiều", 0.2),
    ("Quách", 0.2),
    ("Triệu", 0.2),
]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Công", "Thanh", "Ngọc", "Xuân", "Hoàng", "Trọng", "Gia"]
MIDDLE_MALE_W = [30, 8, 8, 9, 6, 6, 7, 5, 4, 4, 5, 3]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mai", "Hồng", "Bích", "Phương", "Thùy", "Minh"]
MIDDLE_FEMALE_W = [45, 8, 7, 7, 6, 4, 6, 4, 5, 4, 4]
GIVEN_MALE = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Hải",
    "Hiếu",
    "Hùng",
    "Huy",
    "Khang",
    "Khoa",
    "Kiên",
    "Lâm",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quang",
    "Sơn",
    "Tài",
    "Tâm",
    "Thắng",
    "Thành",
    "Thịnh",
    "Toàn",
    "Trí",
    "Trung",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
    "Khánh",
    "Hậu",
    "Nhân",
    "Thuận",
    "Hòa",
    "Thụy",
]
GIVEN_FEMALE = [
    "Anh",
    "Bích",
    "Chi",
    "Diễm",
    "Dung",
    "Duyên",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hiền",
    "Hoa",
    "Hồng",
    "Huyền",
    "Hương",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Tâm",
    "Thảo",
    "Thơ",
    "Trang",
    "Trinh",
    "Tuyết",
    "Vân",
    "Yến",
    "Xuân",
    "Nhàn",
    "Hòa",
    "Thủy",
    "Thúy",
]
# New-style -> old-style tone placement (the roster near-misses write the old style).
OLD_STYLE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "ủy": "uỷ", "úy": "uý", "ụy": "uỵ", "ùy": "uỳ"}
TONE_NAMES_MALE = ["Hòa", "Thụy"]
TONE_NAMES_FEMALE = ["Hòa", "Thủy", "Thúy"]

# The 63 birth-registration province codes of the CCCD (Circular 59/2021/TT-BCA, annex).
PROVINCE_CODES = [
    1,
    2,
    4,
    6,
    8,
    10,
    11,
    12,
    14,
    15,
    17,
    19,
    20,
    22,
    24,
    25,
    26,
    27,
    30,
    31,
    33,
    34,
    35,
    36,
    37,
    38,
    40,
    42,
    44,
    45,
    46,
    48,
    49,
    51,
    52,
    54,
    56,
    58,
    60,
    62,
    64,
    66,
    67,
    68,
    70,
    72,
    74,
    75,
    77,
    79,
    80,
    82,
    83,
    84,
    86,
    87,
    89,
    91,
    92,
    93,
    94,
    95,
    96,
]
# Codes that are never valid (outside 001–096): planted INVALID_PERSONAL_ID.
INVALID_PROVINCE_CODES = [0, 97, 98, 99]
# Dossier-number letter codes of province-level committees (the home one first).
DOSSIER_CODES = ["CT", "HG", "ST", "VL", "HCM", "HN", "AG", "KG", "BL", "CM"]
DOSSIER_W = [70, 10, 5, 4, 3, 2, 2, 2, 1, 1]

PROVINCE_NAME = "Đảng bộ thành phố Cần Thơ"
UPPER_NAMES = [
    "Đảng ủy phường {}",
    "Đảng ủy xã {}",
    "Đảng ủy các cơ quan Đảng thành phố",
    "Đảng ủy Ủy ban nhân dân thành phố",
    "Đảng ủy Công an thành phố",
    "Đảng ủy Quân sự thành phố",
]
PLACES = [
    "Ninh Kiều",
    "Cái Khế",
    "Tân An",
    "An Bình",
    "Bình Thủy",
    "Long Tuyền",
    "Cái Răng",
    "Hưng Phú",
    "Ô Môn",
    "Thới Long",
    "Phước Thới",
    "Thốt Nốt",
    "Thuận Hưng",
    "Trung Nhứt",
    "Vĩnh Thạnh",
    "Thạnh An",
    "Cờ Đỏ",
    "Thới Lai",
    "Phong Điền",
    "Nhơn Ái",
    "Vị Thanh",
    "Long Mỹ",
    "Ngã Bảy",
    "Châu Thành",
    "Phụng Hiệp",
]
GRASSROOTS_NAMES = [
    "Đảng bộ Trường Trung học phổ thông {}",
    "Đảng bộ Bệnh viện đa khoa {}",
    "Đảng bộ khu vực {}",
    "Đảng bộ Công ty Cổ phần {}",
    "Đảng bộ Sở {}",
    "Đảng bộ ấp {}",
]
GRASSROOTS_CELL_NAMES = [
    "Chi bộ Trường Tiểu học {}",
    "Chi bộ Trạm Y tế {}",
    "Chi bộ Hợp tác xã {}",
    "Chi bộ ấp {}",
]
CELL_NAMES = ["Chi bộ {}", "Chi bộ khu vực {}", "Chi bộ ấp {}", "Chi bộ phòng {}", "Chi bộ tổ {}"]


def pick(rng: np.random.Generator, items: list, n: int, weights: list[float] | None = None) -> np.ndarray:
    """n draws from ``items`` (an object array), optionally weighted."""
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return np.asarray(items, dtype=object)[rng.choice(len(items), size=n, p=p)]


def full_names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """Vietnamese full names (family, middle, given) by gender, vectorised."""
    n = len(female)
    fam_names, fam_w = zip(*FAMILY, strict=True)
    family = pick(rng, list(fam_names), n, list(fam_w))
    mid = np.where(
        female, pick(rng, MIDDLE_FEMALE, n, MIDDLE_FEMALE_W), pick(rng, MIDDLE_MALE, n, MIDDLE_MALE_W)
    )
    given = np.where(female, pick(rng, GIVEN_FEMALE, n), pick(rng, GIVEN_MALE, n))
    return (family + " " + mid + " " + given).astype(object)


def old_style(name: str) -> str:
    """The same name with the old tone placement ("Hòa" -> "Hoà")."""
    for new, old in OLD_STYLE.items():
        name = name.replace(new, old)
    return name


# The 34 province-level units after the 2025 merger (Resolution 202/2025/QH15), for the national
# data set: (M1 of the organisation code = the province's administrative code, Decision
# 19/2025/QĐ-TTg; the committee's name; the CCCD birth-registration codes of the provinces merged
# into it (Circular 59/2021/TT-BCA), home first; a relative size, about the population in millions,
# to share the members out).
PROVINCES_2025: list[tuple[str, str, list[int], float]] = [
    ("01", "Đảng bộ thành phố Hà Nội", [1], 8.7),
    ("04", "Đảng bộ tỉnh Cao Bằng", [4], 0.6),
    ("08", "Đảng bộ tỉnh Tuyên Quang", [8, 2], 1.9),
    ("11", "Đảng bộ tỉnh Điện Biên", [11], 0.6),
    ("12", "Đảng bộ tỉnh Lai Châu", [12], 0.5),
    ("14", "Đảng bộ tỉnh Sơn La", [14], 1.3),
    ("15", "Đảng bộ tỉnh Lào Cai", [15, 10], 1.8),
    ("19", "Đảng bộ tỉnh Thái Nguyên", [19, 6], 1.8),
    ("20", "Đảng bộ tỉnh Lạng Sơn", [20], 0.8),
    ("22", "Đảng bộ tỉnh Quảng Ninh", [22], 1.4),
    ("24", "Đảng bộ tỉnh Bắc Ninh", [24, 27], 3.6),
    ("25", "Đảng bộ tỉnh Phú Thọ", [25, 26, 17], 4.0),
    ("31", "Đảng bộ thành phố Hải Phòng", [31, 30], 4.7),
    ("33", "Đảng bộ tỉnh Hưng Yên", [33, 34], 3.6),
    ("37", "Đảng bộ tỉnh Ninh Bình", [37, 35, 36], 4.4),
    ("38", "Đảng bộ tỉnh Thanh Hóa", [38], 3.7),
    ("40", "Đảng bộ tỉnh Nghệ An", [40], 3.5),
    ("42", "Đảng bộ tỉnh Hà Tĩnh", [42], 1.3),
    ("44", "Đảng bộ tỉnh Quảng Trị", [44, 45], 1.9),
    ("46", "Đảng bộ thành phố Huế", [46], 1.4),
    ("48", "Đảng bộ thành phố Đà Nẵng", [48, 49], 3.1),
    ("51", "Đảng bộ tỉnh Quảng Ngãi", [51, 62], 2.2),
    ("52", "Đảng bộ tỉnh Gia Lai", [52, 64], 3.6),
    ("56", "Đảng bộ tỉnh Khánh Hòa", [56, 58], 2.2),
    ("66", "Đảng bộ tỉnh Đắk Lắk", [66, 54], 3.3),
    ("68", "Đảng bộ tỉnh Lâm Đồng", [68, 67, 60], 3.9),
    ("75", "Đảng bộ tỉnh Đồng Nai", [75, 70], 4.5),
    ("79", "Đảng bộ Thành phố Hồ Chí Minh", [79, 74, 77], 14.0),
    ("80", "Đảng bộ tỉnh Tây Ninh", [80, 72], 3.3),
    ("82", "Đảng bộ tỉnh Đồng Tháp", [82, 87], 4.4),
    ("86", "Đảng bộ tỉnh Vĩnh Long", [86, 83, 84], 4.3),
    ("91", "Đảng bộ tỉnh An Giang", [91, 89], 4.9),
    ("92", "Đảng bộ thành phố Cần Thơ", [92, 93, 94], 4.2),
    ("96", "Đảng bộ tỉnh Cà Mau", [96, 95], 2.6),
]
# Transfers out of the national tree (the armed forces' and central bodies' committees are not in
# the demo's central database): codes whose M1 is none of the 34.
NATIONAL_OUT_OF_SCOPE = [
    "97.012.000.004.000",
    "97.003.000.011.000",
    "98.001.000.002.000",
    "98.030.000.007.000",
]
