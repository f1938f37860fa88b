"""Party badges (Huy hiệu Đảng, HD 01-HD/TW point 18; docs/rules.md, "Badges")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.calendar import next_award_date
from rules.common import add_years, dmy, dmy1, emit, isin, none, screened, txt
from rules.registry import DEPENDENCIES, MEMBER, provides, rule
from rules.screening import recent_disciplines
from schemas.contract import BADGE_MILESTONES
from schemas.lists import LISTS


def gap_days(activity_gaps: pd.DataFrame, until: pd.Timestamp) -> pd.Series:
    """member_code -> days without party activity (from_date..to_date, both counted; an open gap
    runs to ``until``; gaps starting after ``until`` are ignored)."""
    g = activity_gaps[activity_gaps["from_date"].notna()]
    until = pd.Timestamp(until).normalize()
    g = g[g["from_date"] <= until]
    if g.empty:
        return pd.Series(dtype="int64")
    end = g["to_date"].fillna(until).clip(upper=until)
    days = (end - g["from_date"]).dt.days.clip(lower=-1) + 1
    return days.groupby(g["member_code"]).sum()


def milestone_dates(members: pd.DataFrame, activity_gaps: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """Per member, the date each milestone is reached: decision date + m years + gap days."""
    gaps = members["member_code"].map(gap_days(activity_gaps, until)).fillna(0).astype("int64")
    shift = pd.to_timedelta(gaps.to_numpy(), unit="D")
    out = pd.DataFrame(index=members.index)
    for m in BADGE_MILESTONES:
        out[m] = add_years(members["admission_decision_date"], m) + shift
    return out


def party_age_years(members: pd.DataFrame, activity_gaps: pd.DataFrame, on: pd.Timestamp) -> pd.Series:
    """Full years of party age on ``on``: since the admission decision, less the gap days
    (a 29 February decision completes its years on 28 February, as ``add_years`` does)."""
    on = pd.Timestamp(on).normalize()
    gaps = members["member_code"].map(gap_days(activity_gaps, on)).fillna(0).astype("int64")
    effective = on - pd.to_timedelta(gaps, unit="D")  # as if the gaps never happened
    start = pd.to_datetime(members["admission_decision_date"])
    years = effective.dt.year - start.dt.year
    late = (add_years(start, years) > effective).fillna(False).astype(int)
    return (years - late).astype("Int64")


@provides(
    "badge_candidates",
    members="screened",
    activity_gaps="central.activity_gaps",
    badges="central.badges",
    as_of="as_of",
)
def badge_candidates(
    members: pd.DataFrame, activity_gaps: pd.DataFrame, badges: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Screened members whose highest milestone reached by the next award date A is not awarded.

    Columns added: _milestone (m*), _reached (its date), _award (A)."""
    award = next_award_date(as_of)
    m = screened(members)
    m = m[m["admission_decision_date"].notna()]
    if m.empty:
        return m.assign(_milestone=pd.Series(dtype="Int64"), _reached=pd.NaT, _award=award)
    dates = milestone_dates(m, activity_gaps, award)
    reached = dates.le(award).to_numpy()  # NaT compares False
    has = reached.any(axis=1)
    # Highest milestone reached: milestones ascend, so take the last True column.
    idx = len(BADGE_MILESTONES) - 1 - np.argmax(reached[:, ::-1], axis=1)
    m = m.assign(
        _milestone=np.where(has, np.array(BADGE_MILESTONES)[idx], 0),
        _reached=dates.to_numpy()[np.arange(len(m)), idx],
    )[has]
    years = pd.to_numeric(badges["years"], errors="coerce").astype("float64")
    held = years.groupby(badges["member_code"]).max()
    top = m["member_code"].map(held).astype("float64").fillna(0)
    m = m[(top < m["_milestone"]).to_numpy()]
    return m.assign(_award=award, _reached=pd.to_datetime(m["_reached"]))


def _detail(m: pd.DataFrame, tail: pd.Series | str) -> pd.Series:
    return (
        "Đảng viên "
        + txt(m["member_code"])
        + " ("
        + txt(m["full_name"])
        + ", quyết định kết nạp ngày "
        + dmy(m["admission_decision_date"])
        + ") đủ "
        + m["_milestone"].astype("string")
        + " năm tuổi Đảng ngày "
        + dmy(m["_reached"])
        + ", "
        + tail
    )


def _withheld_reasons(
    m: pd.DataFrame, disciplines: pd.DataFrame, removal_findings: pd.DataFrame, as_of: pd.Timestamp
) -> pd.Series:
    """Vietnamese reason per candidate row, NA when nothing withholds the badge."""
    d = recent_disciplines(disciplines, as_of)[["member_code", "decided_on"]]  # one row per member
    disc = m[["member_code"]].merge(d, on="member_code", how="left")["decided_on"].set_axis(m.index)
    reason = ("bị kỷ luật ngày " + dmy(disc)).where(disc.notna())
    r = removal_findings[
        removal_findings["list_code"].isin(LISTS["BADGE_WITHHELD"].depends_on)  # the removal lists
    ]
    on_list = isin(m["member_code"], r["member_code"])
    removal_txt = pd.Series("thuộc danh sách xem xét xóa tên", index=m.index, dtype="string")
    both = reason.notna() & on_list
    reason = reason.mask(both, reason + " và " + removal_txt).mask(~reason.notna() & on_list, removal_txt)
    return reason.astype("string")


# Source: HD 01-HD/TW point 18 — milestones and the four award dates; none may be missed (KH 001).
@rule(
    "BADGE_DUE",
    scope=MEMBER,
    members="screened",
    activity_gaps="central.activity_gaps",
    badges="central.badges",
    disciplines="central.disciplines",
    removal_findings=DEPENDENCIES,
    as_of="as_of",
    candidates="badge_candidates",
)
def badge_due(
    members: pd.DataFrame,
    activity_gaps: pd.DataFrame,
    badges: pd.DataFrame,
    disciplines: pd.DataFrame,
    removal_findings: pd.DataFrame,
    as_of: pd.Timestamp,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Reaches milestone m* by the next award date, has no badge of m* years or more, and nothing
    withholds it. field = m*, due_date = the award date."""
    m = badge_candidates(members, activity_gaps, badges, as_of) if candidates is None else candidates
    if m.empty:
        return none()
    m = m[_withheld_reasons(m, disciplines, removal_findings, as_of).isna().to_numpy()]
    if m.empty:
        return none()
    detail = _detail(
        m,
        "đề nghị trao Huy hiệu "
        + m["_milestone"].astype("string")
        + " năm tuổi Đảng đợt "
        + dmy1(m["_award"].iloc[0])
        + ".",
    )
    return emit(
        "BADGE_DUE",
        m,
        org_code="cell_code",
        member_code="member_code",
        field=m["_milestone"].astype("string"),
        central_value=dmy(m["_reached"]),
        due_date="_award",
        detail=detail,
    )


# Source: HD 01-HD/TW point 18; KH 001 §2 — withheld from members under discipline or screening.
@rule(
    "BADGE_WITHHELD",
    scope=MEMBER,
    members="screened",
    activity_gaps="central.activity_gaps",
    badges="central.badges",
    disciplines="central.disciplines",
    removal_findings=DEPENDENCIES,
    as_of="as_of",
    candidates="badge_candidates",
)
def badge_withheld(
    members: pd.DataFrame,
    activity_gaps: pd.DataFrame,
    badges: pd.DataFrame,
    disciplines: pd.DataFrame,
    removal_findings: pd.DataFrame,
    as_of: pd.Timestamp,
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Would be BADGE_DUE, but disciplined in (as_of − 12 months, as_of] or on a removal list."""
    m = badge_candidates(members, activity_gaps, badges, as_of) if candidates is None else candidates
    if m.empty:
        return none()
    why = _withheld_reasons(m, disciplines, removal_findings, as_of)
    m = m.assign(_why=why)[why.notna().to_numpy()]
    if m.empty:
        return none()
    detail = _detail(
        m,
        "chưa xét trao Huy hiệu "
        + m["_milestone"].astype("string")
        + " năm tuổi Đảng đợt "
        + dmy1(m["_award"].iloc[0])
        + " vì "
        + m["_why"]
        + ".",
    )
    return emit(
        "BADGE_WITHHELD",
        m,
        org_code="cell_code",
        member_code="member_code",
        field=m["_milestone"].astype("string"),
        central_value=dmy(m["_reached"]),
        cell_value="_why",
        due_date="_award",
        detail=detail,
    )
