"""Admission criteria of the sympathizers listed in CamTinh (seeds 000 and 001; docs/rules.md, "Admission").

Candidates have no member code: ``member_code`` is the personal ID masked to its last four digits.
"""

from __future__ import annotations

import pandas as pd

from rules.common import add_years, dmy, dmy1, emit, flag, none, txt
from rules.registry import TREE, rule
from schemas.contract import CANDIDATE_KINDS, RATING_LABELS
from schemas.labels import PERSON_TYPE_LABELS, org_phrase
from schemas.normalize import fold_name, mask_id, restore_id

MIN_AGE, MAX_AGE = 18, 60
CERTIFICATE_YEARS = 5
RATING_COLUMNS = ["rating_y1", "rating_y2", "rating_y3"]

# Folded text -> canonical level: cadre codes (or their full labels) and school levels.
_CADRE = {**{c.lower(): c for c in RATING_LABELS}, **{label.lower(): c for c, label in RATING_LABELS.items()}}
_STUDENT = {"xuất sắc": "XS", "giỏi": "G", "khá": "K", "trung bình": "TB", "yếu": "Y", "kém": "KEM"}
_KINDS = {**{k.lower(): v for k, v in CANDIDATE_KINDS.items()}, "cadre": "cadre", "student": "student"}


def _levels(s: pd.Series, table: dict[str, str]) -> pd.Series:
    folded = fold_name(s.astype("string"))
    # fold_name folds tone placement; fold the table's keys the same way.
    keys = fold_name(pd.Series(list(table), dtype="string"))
    return folded.map(dict(zip(keys, table.values(), strict=True))).astype("string")


def full_years(birth: pd.Series, on: pd.Timestamp) -> pd.Series:
    """Age in full years on ``on`` (a 29 February birthday is reached on 28 February)."""
    birth = pd.to_datetime(birth, errors="coerce")
    years = pd.Timestamp(on).year - birth.dt.year
    late = (add_years(birth, years) > pd.Timestamp(on)).fillna(False).astype(int)
    return (years - late).astype("Int64")


def assess_candidates(candidates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Candidates with ``_kind``, ``_ok`` (all criteria met) and ``_failed`` (Vietnamese, '; '-joined)."""
    as_of = pd.Timestamp(as_of).normalize()
    c = candidates.copy()
    kind = fold_name(txt(c["candidate_kind"])).map(_KINDS).astype("string")
    failed = pd.Series("", index=c.index, dtype="string")

    def add(mask: pd.Series, text: pd.Series | str) -> None:
        nonlocal failed
        failed = failed.mask(mask.fillna(False).astype(bool), failed + text + "; ")

    age = full_years(c["birth_date"], as_of)
    add(age.isna(), "thiếu ngày sinh")
    add((age < MIN_AGE) | (age > MAX_AGE), "tuổi " + age.astype("string") + " ngoài khoảng 18–60")
    cert = pd.to_datetime(c["course_certificate_on"], errors="coerce")
    add(cert.isna(), "chưa có giấy chứng nhận học lớp nhận thức về Đảng (CN-NTVĐ)")
    add(
        add_years(cert, CERTIFICATE_YEARS) < as_of,
        "giấy CN-NTVĐ cấp ngày " + txt(dmy(cert)) + " đã quá 5 năm tính đến " + dmy1(as_of),
    )
    add(~flag(c, "background_verified"), "chưa thẩm tra lý lịch")
    add(c["political_conclusion_on"].isna(), "chưa có kết luận về tiêu chuẩn chính trị")
    add(kind.isna(), "đối tượng không xác định (Cán bộ hoặc Học sinh, sinh viên)")

    raw = (
        " ("
        + txt(c["rating_y1"], "?")
        + ", "
        + txt(c["rating_y2"], "?")
        + ", "
        + txt(c["rating_y3"], "?")
        + ")"
    )
    cadre = kind == "cadre"
    lv = pd.concat([_levels(c[col], _CADRE) for col in RATING_COLUMNS], axis=1)
    good = lv.isin(["HTXSNV", "HTTNV"]).all(axis=1)
    excellent = lv.eq("HTXSNV").any(axis=1) | flag(c, "emulation_fighter") | flag(c, "provincial_merit")
    add(cadre & ~good, "xếp loại 3 năm" + raw + " chưa đều từ Hoàn thành tốt nhiệm vụ trở lên")
    add(
        cadre & ~excellent,
        "không có năm Hoàn thành xuất sắc nhiệm vụ, danh hiệu Chiến sĩ thi đua hay Khen thưởng cấp tỉnh",
    )
    student = kind == "student"
    sv = pd.concat([_levels(c[col], _STUDENT) for col in RATING_COLUMNS], axis=1)
    fair = sv.isin(["XS", "G", "K"]).all(axis=1)
    top = sv.isin(["XS", "G"]).sum(axis=1)
    add(student & ~fair, "xếp loại 3 năm học" + raw + " chưa đều từ Khá trở lên")
    add(student & (top < 2), "chỉ có " + top.astype("string") + " năm Giỏi hoặc Xuất sắc (cần 2)")
    return c.assign(_kind=kind, _ok=(failed == ""), _failed=failed.str.rstrip("; "), _age=age)


# Source: seeds 000 and 001 §1.2 (tiêu chuẩn kết nạp); KH 71-KH/ĐU (thẩm tra lý lịch 100%).
@rule(
    "ADMISSION_ELIGIBLE",
    "ADMISSION_NOT_ELIGIBLE",
    scope=TREE,
    candidates="period.candidates",
    as_of="as_of",
    organizations="central.organizations",
)
def admission(
    candidates: pd.DataFrame, as_of: pd.Timestamp, organizations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """ADMISSION_ELIGIBLE / ADMISSION_NOT_ELIGIBLE for each CamTinh row of the period's workbooks;
    the detail of a failure names each failed criterion. field = cadre/student."""
    if candidates.empty:
        return none()
    c = assess_candidates(candidates, as_of)
    c = c.assign(_masked=mask_id(restore_id(c["personal_id"])))
    c = c.drop_duplicates(["cell_code", "_masked", "_ok"])
    who = (
        "Quần chúng "
        + txt(c["full_name"])
        + " (CCCD "
        + txt(c["_masked"], "?")
        + ", sinh "
        + txt(dmy(c["birth_date"]), "?")
        + ", "
        + txt(c["_kind"].map(PERSON_TYPE_LABELS).astype("string").fillna(c["candidate_kind"]), "đối tượng ?")
        + ") do "
        + txt(org_phrase(c["cell_code"], organizations))
        + " đề nghị"
    )
    ok, ko = c[c["_ok"]], c[~c["_ok"]]
    out = []
    if not ok.empty:
        out.append(
            emit(
                "ADMISSION_ELIGIBLE",
                ok,
                org_code="cell_code",
                member_code="_masked",
                field=ok["_kind"],
                detail=who[ok.index] + " đủ tiêu chuẩn xét kết nạp tính đến " + dmy1(as_of) + ".",
            )
        )
    if not ko.empty:
        out.append(
            emit(
                "ADMISSION_NOT_ELIGIBLE",
                ko,
                org_code="cell_code",
                member_code="_masked",
                field=ko["_kind"],
                cell_value="_failed",
                detail=who[ko.index] + " chưa đủ tiêu chuẩn xét kết nạp: " + ko["_failed"] + ".",
            )
        )
    return pd.concat(out, ignore_index=True) if out else none()
