"""Screening categories (KH 71-KH/ĐU §2.2) and removal grounds (QĐ 294-QĐ/TW point 8.1);
docs/rules.md, "Screening and removal"."""

from __future__ import annotations

import pandas as pd

from rules.common import (
    dmy,
    dmy1,
    emit,
    flag,
    isin,
    live_workbooks,
    month_labels,
    none,
    screened,
    twelve_months_before,
    txt,
)
from rules.registry import DEPENDENCIES, MEMBER, TREE, rule
from schemas.lists import LISTS

REMOVAL_MONTHS = 3  # "3 tháng trong năm"
KHT_YEARS = 2  # "hai năm liền" proxied by consecutive KHTNV ratings (configurable, domain.md)
DISCIPLINE_LABELS = {
    "khien_trach": "khiển trách",
    "canh_cao": "cảnh cáo",
    "cach_chuc": "cách chức",
    "khai_tru": "khai trừ",
}


def latest_rated_year(ratings: pd.DataFrame) -> int | None:
    """The latest ``year`` of central ratings (the whole table), None when there is none."""
    years = pd.to_numeric(ratings["year"], errors="coerce").dropna()
    return int(years.max()) if len(years) else None


def _kht_members(ratings: pd.DataFrame, year: int) -> pd.Index:
    r = ratings[(pd.to_numeric(ratings["year"], errors="coerce") == year) & (ratings["rating"] == "KHTNV")]
    return pd.Index(r["member_code"].dropna().unique())


def _who(m: pd.DataFrame) -> pd.Series:
    return "Đảng viên " + txt(m["member_code"]) + " (" + txt(m["full_name"]) + ")"


# Source: KH 71-KH/ĐU §2.2 category 1; QĐ 124-QĐ/TW (xếp loại chất lượng).
@rule("SCREEN_NOT_COMPLETED", scope=MEMBER, members="screened", ratings="central.ratings")
def screen_not_completed(members: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Rated KHTNV in the latest rated year. ref = that year."""
    year = latest_rated_year(ratings)
    if year is None:
        return none()
    m = screened(members)
    m = m[isin(m["member_code"], _kht_members(ratings, year))]
    if m.empty:
        return none()
    detail = _who(m) + " bị xếp loại Không hoàn thành nhiệm vụ năm " + str(year) + " (nhóm 1, KH 71-KH/ĐU)."
    return emit(
        "SCREEN_NOT_COMPLETED",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="rating",
        central_value="KHTNV",
        detail=detail,
        ref=str(year),
    )


# Source: KH 71-KH/ĐU §2.2 category 2 (vi phạm quy định chuyển sinh hoạt đảng).
@rule("SCREEN_TRANSFER_RULES", scope=TREE, members="screened", transfer_findings=DEPENDENCIES)
def screen_transfer_rules(members: pd.DataFrame, transfer_findings: pd.DataFrame) -> pd.DataFrame:
    """Member with a TRANSFER_OVERDUE or TRANSFER_DOSSIER_MISSING finding; one per member."""
    f = transfer_findings[transfer_findings["list_code"].isin(LISTS["SCREEN_TRANSFER_RULES"].depends_on)]
    if f.empty:
        return none()
    labels = f["list_code"].map(
        {
            "TRANSFER_OVERDUE": "quá hạn nộp giấy giới thiệu chuyển sinh hoạt",
            "TRANSFER_DOSSIER_MISSING": "hồ sơ chưa được chuyển đến nơi tiếp nhận",
        }
    )
    why = (
        (labels.astype("string") + " (mã chuyển sinh hoạt " + txt(f["ref"]) + ")")
        .groupby(f["member_code"])
        .agg(lambda s: "; ".join(sorted(set(s))))
    )
    m = screened(members)
    m = m[isin(m["member_code"], why.index)]
    if m.empty:
        return none()
    m = m.assign(_why=m["member_code"].map(why).astype("string"))
    detail = _who(m) + " vi phạm quy định chuyển sinh hoạt đảng: " + m["_why"] + " (nhóm 2, KH 71-KH/ĐU)."
    return emit(
        "SCREEN_TRANSFER_RULES",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="transfer",
        detail=detail,
    )


def recent_disciplines(disciplines: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Disciplines decided in (as_of − 12 months, as_of], the latest per member."""
    as_of = pd.Timestamp(as_of).normalize()
    d = disciplines[
        (disciplines["decided_on"] > twelve_months_before(as_of)) & (disciplines["decided_on"] <= as_of)
    ]
    return d.sort_values(["decided_on", "form"]).drop_duplicates("member_code", keep="last")


# Source: KH 71-KH/ĐU §2.2 category 3 (vi phạm kỷ luật Đảng, pháp luật Nhà nước).
@rule("SCREEN_DISCIPLINE", scope=MEMBER, members="screened", disciplines="central.disciplines", as_of="as_of")
def screen_discipline(members: pd.DataFrame, disciplines: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """A discipline decided in (as_of − 12 months, as_of]; one per member (the latest named)."""
    d = recent_disciplines(disciplines, as_of)
    m = screened(members)
    m = m[isin(m["member_code"], d["member_code"]).to_numpy()]
    m = m.merge(d[["member_code", "decided_on", "form"]], on="member_code", how="inner")
    if m.empty:
        return none()
    form = m["form"].map(DISCIPLINE_LABELS).astype("string").fillna(txt(m["form"]))
    detail = (
        _who(m)
        + " bị kỷ luật "
        + form
        + " ngày "
        + dmy(m["decided_on"])
        + ", trong 12 tháng tính đến "
        + dmy1(as_of)
        + " (nhóm 3, KH 71-KH/ĐU)."
    )
    return emit(
        "SCREEN_DISCIPLINE",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="discipline",
        central_value=form,
        detail=detail,
    )


# Source: KH 71-KH/ĐU §2.2 category 4 (chi bộ đánh giá: thiếu gương mẫu, uy tín thấp).
@rule("SCREEN_LOW_STANDING", scope=MEMBER, members="screened", screening="period.screening", period="period")
def screen_low_standing(members: pd.DataFrame, screening: pd.DataFrame, period: str) -> pd.DataFrame:
    """A DanhGia row with Nhóm 4 in the period's workbooks, for a screened central member."""
    s = screening[(pd.to_numeric(screening["category"], errors="coerce") == 4)]
    s = s.drop_duplicates(["member_code", "cell_code"])
    m = screened(members)
    m = m.loc[isin(m["member_code"], s["member_code"]).to_numpy(), ["member_code", "full_name"]]
    s = s.merge(m, on="member_code", how="inner")
    if s.empty:
        return none()
    note = txt(s["note"]) if "note" in s.columns else pd.Series("", index=s.index)
    note_txt = (": " + note).where(note != "", "")
    detail = (
        _who(s)
        + " được chi bộ đánh giá (sheet DanhGia) thuộc nhóm 4 (thiếu gương mẫu, uy tín thấp) kỳ "
        + s["period"].astype("string").str.slice(5, 7)
        + "/"
        + s["period"].astype("string").str.slice(0, 4)
        + note_txt
        + "."
    )
    return emit(
        "SCREEN_LOW_STANDING",
        s,
        org_code="cell_code",
        member_code="member_code",
        field="category",
        cell_value="4",
        detail=detail,
    )


def year_activity(activity: pd.DataFrame, workbooks: pd.DataFrame, period: str) -> pd.DataFrame:
    """One SinhHoat row per (member, month) for January..period of the period's year.

    Rows of every live workbook count (a month sent once counts for the whole year); when several
    workbooks report the same month, the latest wins: greatest period, then greatest created_on."""
    year = period[:4]
    a = activity[(activity["month"] >= f"{year}-01") & (activity["month"] <= period)]
    if a.empty:
        return a
    keys = [k for k in ("cell_code", "period", "_source") if k in a.columns and k in workbooks.columns]
    wb = live_workbooks(workbooks)
    if len(wb) < len(workbooks) and keys:
        gone = workbooks.loc[~workbooks.index.isin(wb.index), keys].astype("string").drop_duplicates()
        hit = a[keys].astype("string").merge(gone.assign(_gone=True), on=keys, how="left")["_gone"]
        a = a[hit.isna().to_numpy()]
    # Only (member, month) pairs reported more than once need the ordering (a few rows, not all).
    dup = a.duplicated(["member_code", "month"], keep=False).to_numpy()
    if not dup.any():
        return a
    d = a[dup]
    if "created_on" in wb.columns and keys:
        d = d.merge(wb[[*keys, "created_on"]].drop_duplicates(keys), on=keys, how="left").set_axis(d.index)
    else:
        d = d.assign(created_on=pd.NaT)
    d = d.sort_values(["period", "created_on"], na_position="first", kind="stable")
    d = d.drop_duplicates(["member_code", "month"], keep="last").drop(columns="created_on")
    return pd.concat([a[~dup], d])


# Source: QĐ 294-QĐ/TW point 8.1 — 3 months in a year absent, or fees unpaid, without reason.
@rule(
    "REMOVAL_ABSENCE_OR_FEES",
    scope=MEMBER,
    members="screened",
    activity="submissions.activity",
    workbooks="submissions.workbooks",
    period="period",
)
def removal_absence_or_fees(
    members: pd.DataFrame, activity: pd.DataFrame, workbooks: pd.DataFrame, period: str
) -> pd.DataFrame:
    """≥ 3 months of the period's year (up to the period) absent without reason -> field attendance;
    ≥ 3 months fees unpaid without reason -> field fees. Exempt members' absences do not count.
    ``activity``: SinhHoat rows of all workbooks given. ref = the year."""
    # Only members with at least one bad month can reach 3; the latest-wins ordering (a hash over
    # every member-month) runs on their rows only.
    excused_all = flag(activity, "excused")
    maybe_bad = (
        activity["attended"].astype("boolean").eq(False).fillna(False).astype(bool)
        | activity["fees_paid"].astype("boolean").eq(False).fillna(False).astype(bool)
    ) & ~excused_all
    if not maybe_bad.any():
        return none()
    activity = activity[
        isin(activity["member_code"], activity["member_code"][maybe_bad.to_numpy()]).to_numpy()
    ]
    a = year_activity(activity, workbooks, period)
    if a.empty:
        return none()
    excused = flag(a, "excused")
    # Unknown (NA) attendance or payment is not held against the member.
    absent = a["attended"].astype("boolean").eq(False).fillna(False).astype(bool) & ~excused
    unpaid = a["fees_paid"].astype("boolean").eq(False).fillna(False).astype(bool) & ~excused
    a = a.assign(_absent=absent, _unpaid=unpaid)[(absent | unpaid).to_numpy()]  # few rows from here on
    m = screened(members)
    m = m.loc[
        isin(m["member_code"], a["member_code"]).to_numpy(),
        ["member_code", "full_name", "cell_code", "status"],
    ]
    a = a[["member_code", "month", "_absent", "_unpaid"]].merge(m, on="member_code", how="inner")
    absent = a["_absent"] & (a["status"] != "exempt").to_numpy()  # exempt: absences do not count
    unpaid = a["_unpaid"]
    year = period[:4]
    out = []
    for field, mask, what in (
        ("attendance", absent, "không tham gia sinh hoạt đảng không có lý do"),
        ("fees", unpaid, "không đóng đảng phí không có lý do"),
    ):
        bad = a[mask.to_numpy()]
        if bad.empty:
            continue
        counts = bad.groupby("member_code").size()
        hit = counts[counts >= REMOVAL_MONTHS].index
        bad = bad[isin(bad["member_code"], hit)].sort_values("month")
        if bad.empty:
            continue
        months = month_labels(bad["month"]).groupby(bad["member_code"]).agg(", ".join)
        f = bad.drop_duplicates("member_code").copy()
        f["_n"] = f["member_code"].map(counts).astype("string")
        f["_months"] = f["member_code"].map(months).astype("string")
        detail = (
            _who(f)
            + " "
            + what
            + " "
            + f["_n"]
            + " tháng trong năm "
            + year
            + " ("
            + f["_months"]
            + "), thuộc diện xem xét xóa tên (từ 3 tháng trở lên)."
        )
        out.append(
            emit(
                "REMOVAL_ABSENCE_OR_FEES",
                f,
                org_code="cell_code",
                member_code="member_code",
                field=field,
                central_value="_n",
                cell_value="_months",
                detail=detail,
                ref=year,
            )
        )
    return pd.concat(out, ignore_index=True) if out else none()


# Source: QĐ 294-QĐ/TW point 8.1 — violating membership standards two years in a row (KHTNV proxy).
@rule("REMOVAL_TWO_YEARS_KHT", scope=MEMBER, members="screened", ratings="central.ratings")
def removal_two_years_kht(members: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Rated KHTNV in the latest rated year and in the year before it. ref = the latest year."""
    year = latest_rated_year(ratings)
    if year is None:
        return none()
    both = _kht_members(ratings, year)
    for back in range(1, KHT_YEARS):
        both = both.intersection(_kht_members(ratings, year - back))
    m = screened(members)
    m = m[isin(m["member_code"], both)]
    if m.empty:
        return none()
    detail = (
        _who(m)
        + " bị xếp loại Không hoàn thành nhiệm vụ hai năm liền ("
        + str(year - 1)
        + " và "
        + str(year)
        + "), thuộc diện xem xét xóa tên."
    )
    return emit(
        "REMOVAL_TWO_YEARS_KHT",
        m,
        org_code="cell_code",
        member_code="member_code",
        field="rating",
        central_value=f"{year - 1}, {year}",
        detail=detail,
        ref=str(year),
    )
