"""BADGE_DUE / BADGE_WITHHELD and party age (HD 01-HD/TW point 18; docs/rules.md, "Badges").

as_of = 16/11/2026, so the next award date is 03/02/2027.
"""

from __future__ import annotations

import pandas as pd
from rulekit import central, codes, member, one, run

from rules.badges import party_age_years


def test_milestone_reached_on_the_award_date_is_due_the_day_after_is_not():
    c = central(
        members=[
            member("1", admission_decision_date="1997-02-03"),
            member("2", admission_decision_date="1997-02-04"),
        ]
    )
    f = run(c, None, "BADGE")
    row = one(f, "BADGE_DUE")
    assert (row["member_code"], row["field"], row["due_date"]) == ("1", "30", "2027-02-03")
    assert "03/02/2027" in row["detail"] and "03/02/1997" in row["detail"]


def test_activity_gap_shifts_the_milestone():
    gap = [{"member_code": "1", "from_date": "2000-01-01", "to_date": "2000-02-10"}]  # 41 days
    c = central(members=[member("1", admission_decision_date="1997-01-01")], activity_gaps=gap)
    assert run(c, None, "BADGE").empty  # 30 years reached on 11/02/2027, after 03/02/2027
    row = one(run(c, None, "BADGE", as_of="2027-02-04", period="2027-01"), "BADGE_DUE")
    assert row["central_value"] == "11/02/2027" and row["due_date"] == "2027-05-19"


def test_highest_milestone_not_yet_awarded():
    c = central(
        members=[
            member("1", admission_decision_date="1986-06-01"),
            member("2", admission_decision_date="1986-06-01"),
        ],
        badges=[
            {"member_code": "1", "years": 30, "awarded_on": "2016-09-02"},
            {"member_code": "2", "years": 40, "awarded_on": "2026-09-02"},
        ],
    )
    assert codes(run(c, None, "BADGE")) == [("BADGE_DUE", "C1", "1", "40")]


def test_decision_on_29_february():
    c = central(members=[member("1", admission_decision_date="1996-02-29")])
    # On 3/2/2026 the 30 years (reached 28/2/2026) are not there yet; the next date is 19/5/2026.
    assert run(c, None, "BADGE", as_of="2026-02-03", period="2026-01").empty
    row = one(run(c, None, "BADGE", as_of="2026-02-04", period="2026-01"), "BADGE_DUE")
    assert (row["central_value"], row["due_date"]) == ("28/02/2026", "2026-05-19")


def test_withheld_for_recent_discipline_or_removal_list_and_not_due_then():
    c = central(
        members=[
            member("1", admission_decision_date="1990-01-01"),
            member("2", admission_decision_date="1990-01-01"),
            member("3", admission_decision_date="1990-01-01"),
        ],
        disciplines=[
            {"member_code": "1", "decided_on": "2026-03-01", "form": "canh_cao"},
            {"member_code": "3", "decided_on": "2025-11-16", "form": "canh_cao"},
        ],  # 12 months ago: spent
        ratings=[{"member_code": "2", "year": y, "rating": "KHTNV"} for y in (2024, 2025)],
    )
    f = run(c, None, "BADGE")
    assert codes(f) == [
        ("BADGE_DUE", "C1", "3", "30"),
        ("BADGE_WITHHELD", "C1", "1", "30"),
        ("BADGE_WITHHELD", "C1", "2", "30"),
    ]
    assert "kỷ luật ngày 01/03/2026" in f.iloc[1]["detail"] and "xóa tên" in f.iloc[2]["detail"]


def test_inactive_members_get_no_badge_but_exempt_do():
    c = central(
        members=[
            member("1", admission_decision_date="1990-01-01", status="deceased"),
            member("2", admission_decision_date="1990-01-01", status="exempt"),
        ]
    )
    assert codes(run(c, None, "BADGE")) == [("BADGE_DUE", "C1", "2", "30")]


def test_party_age_less_gaps():
    c = central(
        members=[
            member("1", admission_decision_date="1996-02-29"),
            member("2", admission_decision_date="2000-06-01"),
        ],
        activity_gaps=[{"member_code": "2", "from_date": "2001-01-01", "to_date": "2001-12-31"}],
    )
    ages = party_age_years(c.members, c.activity_gaps, pd.Timestamp("2026-02-28"))
    assert ages.tolist() == [30, 24]  # 1: 29/2 completes on 28/2; 2: 25 years less a 365-day gap
