"""Small vectorised helpers shared by the rule families (no I/O, no Prefect)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.contract import INACTIVE_STATUSES, SCREENED_STATUSES
from schemas.labels import MEMBER_STATUS_LABELS, sentence
from schemas.normalize import id_key, isin  # noqa: F401 (the rules' shared helpers)
from schemas.precedence import newest
from schemas.tree import ancestor_pairs

# Words of the one table of labels (schemas.labels): statuses as they read inside a sentence.
STATUS_LABELS = {k: sentence(v) for k, v in MEMBER_STATUS_LABELS.items()}


def txt(s: pd.Series | None, default: str = "") -> pd.Series:
    """String Series with NA replaced by ``default`` (for building `detail` with `+`)."""
    if s is None:
        return pd.Series(dtype="string")
    return s.astype("string").fillna(default)


def dmy(s: pd.Series) -> pd.Series:
    """Dates as dd/mm/yyyy strings (NA for NaT)."""
    d = pd.to_datetime(s, errors="coerce")
    return d.dt.strftime("%d/%m/%Y").astype("string").mask(d.isna(), pd.NA)


def dmy1(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%d/%m/%Y")


def month_label(period: str) -> str:
    """YYYY-MM -> MM/YYYY (as the cells write it)."""
    return f"{period[5:7]}/{period[0:4]}" if isinstance(period, str) and len(period) >= 7 else str(period)


def month_labels(s: pd.Series) -> pd.Series:
    s = s.astype("string")
    return (s.str.slice(5, 7) + "/" + s.str.slice(0, 4)).astype("string")


def col(df: pd.DataFrame, name: str, dtype: str = "string") -> pd.Series:
    """A column of ``df``, or an all-NA Series when the column is absent (robust to thin frames)."""
    if name in df.columns:
        return df[name]
    if dtype == "datetime":
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    return pd.Series(pd.NA, index=df.index, dtype=dtype)


def flag(df: pd.DataFrame, name: str) -> pd.Series:
    """Boolean column with NA as False."""
    return col(df, name, "boolean").astype("boolean").fillna(False).astype(bool)


def is_screened(status: pd.Series) -> pd.Series:
    """Active or exempt (a member's status, or a roster row's: listed as the cell's own)."""
    return status.isin(SCREENED_STATUSES)


def screened(members: pd.DataFrame) -> pd.DataFrame:
    """Members the screening lists look at: status active or exempt."""
    keep = is_screened(members["status"])
    return members if keep.all() else members[keep]  # already filtered: no copy of a million rows


def is_inactive(status: pd.Series) -> pd.Series:
    return status.isin(INACTIVE_STATUSES)


def status_label(s: pd.Series) -> pd.Series:
    return s.astype("string").map(STATUS_LABELS).astype("string").fillna(txt(s))


def twelve_months_before(as_of: pd.Timestamp) -> pd.Timestamp:
    """Start (exclusive) of the half-open span (as_of − 12 months, as_of]."""
    return pd.Timestamp(as_of).normalize() - pd.DateOffset(months=12)


def add_years(d: pd.Series, years: int | pd.Series) -> pd.Series:
    """d + years, a 29 February landing on 28 February (BLDS 2015 art. 148: no such day -> month end)."""
    d = pd.to_datetime(d, errors="coerce")
    if np.isscalar(years):
        return d + pd.DateOffset(years=int(years))
    # Per-row years: go through year/month/day parts, clipping the day to the month's length.
    y = d.dt.year + pd.Series(years, index=d.index)
    m = d.dt.month
    first = pd.to_datetime(
        pd.DataFrame({"year": y.fillna(2000).astype(int), "month": m.fillna(1).astype(int), "day": 1}),
    )
    day = np.minimum(d.dt.day.fillna(1).astype(int), first.dt.days_in_month)
    out = first + pd.to_timedelta(day - 1, unit="D")
    return out.where(d.notna() & y.notna())


# --- Which submitted rows a run looks at --------------------------------------------------------


def live_workbooks(workbooks: pd.DataFrame) -> pd.DataFrame:
    """Workbooks not marked ``superseded`` (the column is optional)."""
    if "superseded" in workbooks.columns:
        return workbooks[~workbooks["superseded"].astype("boolean").fillna(False).astype(bool)]
    return workbooks


def superseded_sources(workbooks: pd.DataFrame) -> pd.DataFrame:
    """(cell_code, period, _source) of superseded workbooks, to drop their rows."""
    if "superseded" not in workbooks.columns or workbooks.empty:
        return pd.DataFrame({"cell_code": [], "period": [], "_source": []}, dtype="string")
    mask = workbooks["superseded"].astype("boolean").fillna(False).astype(bool)
    return workbooks.loc[mask, ["cell_code", "period", "_source"]].astype("string").drop_duplicates()


def period_workbooks(workbooks: pd.DataFrame, period: str) -> pd.DataFrame:
    """The run's workbooks: one per cell for ``period`` (``schemas.precedence``: the store has already
    kept one per cell and period; this matters for frames read without it)."""
    wb = live_workbooks(workbooks)
    wb = wb[wb["period"] == period]
    have = {"created": "created_on", "name": "_source"}
    return newest(wb, ["cell_code"], **{k: c for k, c in have.items() if c in wb.columns})


def _drop_superseded(rows: pd.DataFrame, workbooks: pd.DataFrame) -> pd.DataFrame:
    gone = superseded_sources(workbooks)
    if gone.empty or "_source" not in rows.columns or rows.empty:
        return rows
    keys = ["cell_code", "period", "_source"]
    marked = rows[keys].astype("string").merge(gone.assign(_gone=True), on=keys, how="left")["_gone"]
    return rows[~marked.fillna(False).astype(bool).to_numpy()]


def period_rows(rows: pd.DataFrame, workbooks: pd.DataFrame, period: str) -> pd.DataFrame:
    """Rows of one submission table that belong to the run's workbooks of ``period``.

    Rows of superseded workbooks are dropped; when a cell has several live workbooks for the
    period, only the rows of the one ``period_workbooks`` keeps count. Rows whose workbook is not
    listed in ``workbooks`` at all are kept (thin test fixtures, stores without the index).
    """
    if rows.empty:
        return rows
    rows = rows[rows["period"] == period]
    rows = _drop_superseded(rows, workbooks)
    if "_source" not in rows.columns or "_source" not in workbooks.columns:
        return rows
    live = live_workbooks(workbooks)
    live = live[live["period"] == period]
    several = live["cell_code"][live["cell_code"].duplicated(keep=False)]
    if several.empty:  # the usual case: one workbook per cell, nothing to choose
        return rows
    chosen = period_workbooks(workbooks, period)
    chosen = chosen[chosen["cell_code"].isin(several)]
    pick = chosen[["cell_code", "_source"]].rename(columns={"_source": "_chosen"}).astype("string")
    merged = rows[["cell_code", "_source"]].astype("string").merge(pick, on="cell_code", how="left")
    keep = merged["_chosen"].isna() | (merged["_chosen"] == merged["_source"]).fillna(False)
    return rows[keep.to_numpy()]


def period_rows_all(rows: pd.DataFrame, workbooks: pd.DataFrame) -> pd.DataFrame:
    """Rows of every live workbook (superseded ones dropped), whatever the period."""
    if rows.empty or "superseded" not in workbooks.columns:
        return rows
    gone = workbooks.loc[
        ~workbooks.index.isin(live_workbooks(workbooks).index), ["cell_code", "period", "_source"]
    ]
    if gone.empty:
        return rows
    keys = ["cell_code", "period", "_source"]
    hit = rows[keys].astype("string").merge(gone.astype("string").assign(_g=True), on=keys, how="left")["_g"]
    return rows[hit.isna().to_numpy()]


def submitted_cells(workbooks: pd.DataFrame, roster: pd.DataFrame, period: str) -> pd.Index:
    """Cells that sent a (live) workbook for the period; a roster row also proves a workbook."""
    wb = period_workbooks(workbooks, period)
    cells = pd.concat([wb["cell_code"].astype("string"), roster["cell_code"].astype("string")])
    return pd.Index(cells.dropna().unique())


def own_rows(roster: pd.DataFrame) -> pd.DataFrame:
    """Roster rows listing the member as the cell's own (active or exempt), not as a guest."""
    return roster[is_screened(roster["roster_status"])]


def ancestors(organizations: pd.DataFrame) -> pd.DataFrame:
    """(org_code, ancestor) pairs, the organisation itself included, walking up parent_code
    (``schemas.tree``: bounded, a cycle never followed twice)."""
    pairs = ancestor_pairs(organizations)
    return pairs[["org_code", "ancestor_code"]].rename(columns={"ancestor_code": "ancestor"})


def lit(df: pd.DataFrame, value: str | None) -> pd.Series:
    """A constant string column aligned with ``df`` (make_findings reads a bare string that names a
    column of the frame as that column, so literal values go through this)."""
    return pd.Series(value, index=df.index, dtype="string")


def emit(
    list_code: str, frame: pd.DataFrame, *, field: str | pd.Series | None = None, **columns
) -> pd.DataFrame:
    """``make_findings`` with ``field`` always literal when given as a string."""
    from rules.findings import make_findings

    if isinstance(field, str):
        field = lit(frame, field)
    return make_findings(list_code, frame, field=field, **columns)


_EMPTY: pd.DataFrame | None = None


def none() -> pd.DataFrame:
    """An empty findings frame (built once: make_findings costs ~10 ms even on nothing)."""
    global _EMPTY
    if _EMPTY is None:
        from rules.findings import empty_findings

        _EMPTY = empty_findings()
    return _EMPTY.copy()


def positions(keys: pd.Series, index: pd.Series) -> np.ndarray:
    """Position in ``index`` of each key (its first occurrence), -1 where absent or NA.

    A lookup, not a join: one Arrow hash kernel, no copy of either frame's other columns. Where
    ``index`` is unique (a validated member_code), ``frame.iloc[positions(...)]`` is the inner
    merge's right-hand side, row for row; the roster rules join a million rows this way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if keys.empty or index.empty:
        return np.full(len(keys), -1, dtype=np.int64)
    arr = pa.array(keys.astype("string"), type=pa.large_string(), from_pandas=True)
    value_set = pa.array(index.astype("string"), type=pa.large_string(), from_pandas=True)
    pos = pc.index_in(arr, value_set=value_set, skip_nulls=True).fill_null(-1)
    return pos.to_numpy(zero_copy_only=False).astype(np.int64)


def take(frame: pd.DataFrame, pos: np.ndarray, columns: list[str], suffix: str = "") -> pd.DataFrame:
    """``columns`` of ``frame`` at positions ``pos`` (all >= 0), renamed with ``suffix``, on a
    fresh RangeIndex (for ``assign``ing to the rows they were looked up for)."""
    got = frame[columns].iloc[pos].reset_index(drop=True)
    return got.rename(columns={c: f"{c}{suffix}" for c in columns}) if suffix else got
