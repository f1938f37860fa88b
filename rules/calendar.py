"""Working-day calendar: Monday–Friday minus Vietnamese public holidays (contract.md, "Working days").

Holidays come from ``holidays.country_holidays("VN")``, which includes the lunar new year (Tết)
days and the government's substituted days off. Saturday make-up working days are not counted:
the contract defines working days as Monday to Friday.
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from schemas.contract import AWARD_DAYS

_PAD_YEARS = 2


@lru_cache(maxsize=64)
def _holiday_array(first_year: int, last_year: int) -> np.ndarray:
    days = holidays.country_holidays("VN", years=range(first_year, last_year + 1))
    return np.array(sorted(days.keys()), dtype="datetime64[D]")


def _calendar(days: np.ndarray) -> np.busdaycalendar:
    valid = days[~np.isnat(days)]
    if len(valid):
        lo = int(str(valid.min())[:4]) - _PAD_YEARS
        hi = int(str(valid.max())[:4]) + _PAD_YEARS
    else:
        lo = hi = pd.Timestamp.today().year
    # Round the span outward to decades so the cache sees few distinct keys.
    return _busdaycal(lo - lo % 10, hi - hi % 10 + 9)


@lru_cache(maxsize=64)
def _busdaycal(first_year: int, last_year: int) -> np.busdaycalendar:
    return np.busdaycalendar(weekmask="1111100", holidays=_holiday_array(first_year, last_year))


def _to_days(dates) -> tuple[np.ndarray, pd.Index | None, bool]:
    if isinstance(dates, pd.Series):
        values = pd.to_datetime(dates, errors="coerce").to_numpy(dtype="datetime64[D]")
        return values, dates.index, False
    if isinstance(dates, pd.Timestamp | np.datetime64 | str) or hasattr(dates, "year"):
        ts = pd.Timestamp(dates)
        return np.array([ts.to_datetime64()], dtype="datetime64[D]"), None, True
    values = pd.to_datetime(pd.Series(dates), errors="coerce").to_numpy(dtype="datetime64[D]")
    return values, None, False


def _back(values: np.ndarray, index: pd.Index | None, scalar: bool, kind: str = "date"):
    if kind == "date":
        out = pd.Series(values.astype("datetime64[ns]"), index=index)
        return out.iloc[0] if scalar else out
    out = pd.Series(values, index=index)
    return out.iloc[0] if scalar else out


def is_working_day(dates):
    """True for Monday–Friday that is not a Vietnamese public holiday (NaT -> False)."""
    days, index, scalar = _to_days(dates)
    ok = ~np.isnat(days)
    result = np.zeros(len(days), dtype=bool)
    if ok.any():
        result[ok] = np.is_busday(days[ok], busdaycal=_calendar(days))
    return _back(result, index, scalar, "bool")


def add_working_days(dates, n: int):
    """The n-th working day strictly after each date (rules.md: deadline = add_working_days(D, N)).

    Vectorised over a Series (NaT stays NaT); a scalar date gives a Timestamp.
    """
    days, index, scalar = _to_days(dates)
    ok = ~np.isnat(days)
    result = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    if ok.any():
        # roll="backward": a non-working start counts from the previous working day, so the first
        # working day after a Saturday is the Monday (with "forward" it would be the Tuesday).
        result[ok] = np.busday_offset(days[ok], n, roll="backward", busdaycal=_calendar(days))
    return _back(result, index, scalar)


def working_days_between(start, end):
    """Working days in (start, end]: working_days_between(d, add_working_days(d, n)) == n."""
    s, index, scalar = _to_days(start)
    e, _, _ = _to_days(end)
    if len(e) == 1 and len(s) != 1:
        e = np.repeat(e, len(s))
    if len(s) == 1 and len(e) != 1:
        s = np.repeat(s, len(e))
    ok = ~np.isnat(s) & ~np.isnat(e)
    result = np.full(len(s), np.nan)
    if ok.any():
        cal = _calendar(np.concatenate([s, e]))
        result[ok] = np.busday_count(s[ok] + 1, e[ok] + 1, busdaycal=cal)
    out = pd.Series(result, index=index).astype("Int64")
    return out.iloc[0] if scalar else out


def next_award_date(as_of) -> pd.Timestamp:
    """First of 3/2, 19/5, 2/9, 7/11 on or after ``as_of`` (HD 01-HD/TW point 18)."""
    d = pd.Timestamp(as_of).normalize()
    for year in (d.year, d.year + 1):
        for month, day in AWARD_DAYS:
            candidate = pd.Timestamp(year=year, month=month, day=day)
            if candidate >= d:
                return candidate
    raise AssertionError("unreachable")
