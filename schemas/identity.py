"""The one check of a personal ID (CCCD, 12 digits; CMND, 9): its structure, its province code
(the 63 birth-registration codes), and its agreement with birth year and gender.

Validation warns with it (``schemas.central``, ``schemas.submission``) and the rule
INVALID_PERSONAL_ID lists with it (``rules.identity``): the two can no longer disagree.
Source: Luật Căn cước 2023; TT 59/2021/TT-BCA art. 7 (cấu trúc số định danh cá nhân).
"""

from __future__ import annotations

import pandas as pd

from schemas.normalize import id_key, isin


def _txt(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("")


# Birth-registration codes of the 63 provinces (TT 07/2016/TT-BCA, kept by TT 59/2021/TT-BCA).
PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)


def personal_id_problems(
    personal_id: pd.Series, birth_date: pd.Series | None = None, gender: pd.Series | None = None
) -> pd.Series:
    """Vietnamese reason why each ID is wrong, NA when it is fine.

    Null IDs and 9-digit CMND are fine (old records). An 11-digit ID gets its leading 0 back
    first. Birth date and gender are checked only when given and present.
    """
    pid = id_key(personal_id)
    n = pid.str.len()
    reason = pd.Series(pd.NA, index=pid.index, dtype="string")
    given = personal_id.astype("string").str.strip().replace("", pd.NA).notna()
    digits = pid.str.fullmatch(r"\d+").fillna(False).astype(bool)
    reason = reason.mask(given & ~digits, "không phải một dãy chữ số")
    pid = pid.where(digits)
    bad_len = pid.notna() & ~n.isin([9, 12]).fillna(False)
    reason = reason.mask(
        reason.isna() & bad_len,
        "không phải 12 chữ số (CCCD) hay 9 chữ số (CMND): có " + n.astype("string") + " chữ số",
    )
    twelve = (n == 12).fillna(False)
    bad_prov = twelve & ~isin(pid.str.slice(0, 3), PROVINCE_CODES)
    reason = reason.mask(
        reason.isna() & bad_prov,
        "mã tỉnh nơi đăng ký khai sinh " + _txt(pid.str.slice(0, 3)) + " không tồn tại",
    )
    if birth_date is not None:
        birth = pd.to_datetime(birth_date, errors="coerce")
        year = birth.dt.year
        have = twelve & birth.notna()
        yy = pd.to_numeric(pid.str.slice(4, 6), errors="coerce")
        bad_year = have & (yy != (year % 100)).fillna(False)
        reason = reason.mask(
            reason.isna() & bad_year,
            "chữ số 5–6 ("
            + _txt(pid.str.slice(4, 6))
            + ") không khớp năm sinh "
            + _txt(year.astype("string")),
        )
        digit = pd.to_numeric(pid.str.slice(3, 4), errors="coerce")
        century = year // 100 - 19  # 1900s -> 0, 2000s -> 1, 2100s -> 2
        bad_century = have & ((digit // 2) != century).fillna(False)
        if gender is not None:
            female = (
                gender.astype("string").str.strip().str.lower().map({"nữ": 1, "nam": 0}).astype("Float64")
            )
            expected = century * 2 + female
            bad_century |= have & female.notna() & (digit != expected).fillna(False)
        reason = reason.mask(
            reason.isna() & bad_century,
            "chữ số thứ 4 (" + _txt(pid.str.slice(3, 4)) + ") không khớp thế kỷ năm sinh và giới tính",
        )
    return reason


def well_formed(personal_id: pd.Series) -> pd.Series:
    """True for null, a 9-digit CMND, or a 12-digit CCCD with a real province code."""
    why = personal_id_problems(personal_id)
    return why.isna().astype(bool)


def matches_birth(personal_id: pd.Series, birth_date: pd.Series, gender: pd.Series | None) -> pd.Series:
    """True unless a well-formed CCCD disagrees with the birth year or gender (True where that
    cannot be checked)."""
    structure = personal_id_problems(personal_id)
    full = personal_id_problems(personal_id, birth_date, gender)
    return (structure.notna() | full.isna()).astype(bool)
