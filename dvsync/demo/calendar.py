"""Date helpers of the generator: months, years and working days, vectorised over numpy days.

Working days come from ``rules.calendar.add_working_days`` (the rules' own definition, so that the
planted deadlines sit exactly where the rules put them); a private numpy fallback with the same
definition (Monday–Friday minus ``holidays.country_holidays("VN")``, a non-working start rolls
back) is used only if that module cannot be imported.
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from schemas.contract import AWARD_DAYS

try:  # the rules' calendar, written concurrently; fall back to an identical private helper
    from rules.calendar import add_working_days as _rules_add_working_days
except ImportError:  # pragma: no cover - only before rules/calendar.py exists
    _rules_add_working_days = None

DAY = np.timedelta64(1, "D")


def d64(value) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).date(), "D")


def add_months(d: np.ndarray, k) -> np.ndarray:
    """d + k months, the day clipped to the target month (31/1 + 1 month = 28/2), like DateOffset."""
    d = np.asarray(d, dtype="datetime64[D]")
    month = d.astype("datetime64[M]")
    day = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(k, dtype=np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]")
    return np.where(np.isnat(d), np.datetime64("NaT", "D"), out)


def add_years(d: np.ndarray, years) -> np.ndarray:
    return add_months(d, np.asarray(years, dtype=np.int64) * 12)


def no_feb29(d: np.ndarray) -> np.ndarray:
    """Move 29 February to the 28th: a ceremony or decision on 29/2 makes "+ 12 months" ambiguous."""
    d = np.asarray(d, dtype="datetime64[D]")
    leap_day = (add_months(d, 0) == d) & (day_of_month(d) == 29) & (month_of(d) == 2)
    return np.where(leap_day, d - DAY, d)


def year_of(d: np.ndarray) -> np.ndarray:
    return np.asarray(d, dtype="datetime64[Y]").astype(np.int64) + 1970


def month_of(d: np.ndarray) -> np.ndarray:
    return np.asarray(d, dtype="datetime64[M]").astype(np.int64) % 12 + 1


def day_of_month(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype="datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


@lru_cache(maxsize=8)
def _busdaycal(first_year: int, last_year: int) -> np.busdaycalendar:
    days = holidays.country_holidays("VN", years=range(first_year, last_year + 1))
    return np.busdaycalendar(weekmask="1111100", holidays=np.array(sorted(days), dtype="datetime64[D]"))


def add_working_days(d: np.ndarray, n: int) -> np.ndarray:
    """The n-th working day strictly after each date (docs/rules.md); numpy, for many small calls."""
    d = np.atleast_1d(np.asarray(d, dtype="datetime64[D]"))
    return np.busday_offset(d, n, roll="backward", busdaycal=_busdaycal(1990, 2040))


def rules_add_working_days(d: np.ndarray, n: int) -> np.ndarray:
    """The same through rules.calendar (the authority), when it can be imported."""
    d = np.atleast_1d(np.asarray(d, dtype="datetime64[D]"))
    if _rules_add_working_days is None:  # pragma: no cover
        return add_working_days(d, n)
    return pd.Series(_rules_add_working_days(pd.Series(d), n)).to_numpy("datetime64[D]")


def is_working_day(d: np.ndarray) -> np.ndarray:
    return np.is_busday(np.asarray(d, dtype="datetime64[D]"), busdaycal=_busdaycal(1990, 2040))


def deadline_split(as_of: np.datetime64, n: int, span: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Working days L before ``as_of`` split by the deadline ``add_working_days(L, n)``: those not yet
    overdue on ``as_of`` (oldest first: [0] is the boundary near miss) and those overdue (newest first:
    [0] is the first overdue day)."""
    cands = as_of - np.arange(1, span) * DAY
    cands = cands[is_working_day(cands)]
    due = add_working_days(cands, n)
    # The planted deadlines must sit exactly where the rules put them.
    assert (due == rules_add_working_days(cands, n)).all(), "working-day calendars disagree"
    ok = np.sort(cands[due >= as_of])
    late = np.sort(cands[due < as_of])[::-1]
    return ok, late


def award_dates(year_from: int, year_to: int) -> np.ndarray:
    return np.array(
        [
            np.datetime64(f"{y}-{m:02d}-{d:02d}", "D")
            for y in range(year_from, year_to + 1)
            for m, d in AWARD_DAYS
        ]
    )


def next_award(as_of: np.datetime64) -> np.datetime64:
    """First of 3/2, 19/5, 2/9, 7/11 on or after as_of."""
    y = int(year_of(np.array([as_of]))[0])
    days = award_dates(y, y + 1)
    return days[days >= as_of][0]


def previous_award(award: np.datetime64) -> np.datetime64:
    y = int(year_of(np.array([award]))[0])
    days = award_dates(y - 1, y)
    return days[days < award][-1]


def first_award_on_or_after(d: np.ndarray) -> np.ndarray:
    """Vectorised: the first award date on or after each date."""
    d = np.asarray(d, dtype="datetime64[D]")
    y = year_of(d)
    base = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    cands = []
    for m, day in AWARD_DAYS:
        cands.append((base + (m - 1)).astype("datetime64[D]") + (day - 1) * DAY)
    next_feb = (y + 1 - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 1
    cands.append(next_feb.astype("datetime64[D]") + 2 * DAY)
    stack = np.stack(cands, axis=1)
    ok = stack >= d[:, None]
    return stack[np.arange(len(d)), ok.argmax(axis=1)]
