"""Working days: Monday–Friday minus Vietnamese public holidays, Tết included (rules/calendar.py)."""

from __future__ import annotations

import pandas as pd

from rules.calendar import add_working_days, is_working_day, next_award_date, working_days_between

T = pd.Timestamp


def test_weekend_and_tet_are_not_working_days():
    assert is_working_day(T("2026-02-13"))  # Friday before Tết
    assert not is_working_day(T("2026-02-14"))  # Saturday
    assert not is_working_day(T("2026-02-17"))  # Mùng 1 Tết Bính Ngọ
    assert not is_working_day(T("2026-09-02"))  # National Day


def test_first_working_day_after_friday_before_tet_is_after_the_holiday_week():
    # Tết 2026 closes Monday 16/2 to Friday 20/2.
    assert add_working_days(T("2026-02-13"), 1) == T("2026-02-23")


def test_counting_starts_after_a_weekend_start_day():
    assert add_working_days(T("2026-01-03"), 1) == T("2026-01-05")  # Saturday -> Monday


def test_thirty_working_days_across_tet_take_an_extra_week():
    assert add_working_days(T("2026-01-30"), 30) == T("2026-03-20")


def test_national_day_bridge():
    # 31/8/2026 is a substituted day off, 1–2/9 National Day.
    assert add_working_days(T("2026-08-28"), 1) == T("2026-09-03")


def test_vectorised_with_nat():
    s = pd.Series(pd.to_datetime(["2026-10-05", None, "2026-02-13"]), index=[7, 8, 9])
    out = add_working_days(s, 30)
    assert list(out.index) == [7, 8, 9]
    assert out[7] == T("2026-11-16") and pd.isna(out[8]) and out[9] == T("2026-04-03")


def test_working_days_between_inverts_add():
    for d in ["2026-01-30", "2026-10-02", "2026-02-14"]:
        assert working_days_between(T(d), add_working_days(T(d), 30)) == 30
    assert working_days_between(T("2026-10-05"), T("2026-11-16")) == 30


def test_next_award_date():
    assert next_award_date(T("2026-11-16")) == T("2027-02-03")
    assert next_award_date(T("2026-11-07")) == T("2026-11-07")  # on the day itself
    assert next_award_date(T("2026-05-20")) == T("2026-09-02")
    assert next_award_date(T("2026-01-01")) == T("2026-02-03")
