"""SQL plumbing of the results database: column types, bulk insert, select, result frames.

Values are converted column by column in bulk (Arrow, numpy), never a Python object per value on
the hot paths; the frames read back have dvsync's dtypes (string / datetime64 / boolean / Int64).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schemas.submission import BOOL_COLUMNS as SHEET_BOOL_COLUMNS
from schemas.submission import DATE_COLUMNS as SHEET_DATE_COLUMNS

CHUNK = 5_000  # rows per executemany batch

# --- Column types of the submission tables (dvsync/datasets.py) -------------------------------
DATE_COLUMNS = {*SHEET_DATE_COLUMNS, "created_on"}  # created_on: the workbook's Ngày lập
BOOL_COLUMNS = SHEET_BOOL_COLUMNS
INT_COLUMNS = {"year", "category", "_row", "row"}


def _sa_type(column: str) -> sa.types.TypeEngine:
    if column in DATE_COLUMNS:
        return sa.Date()
    if column in BOOL_COLUMNS:
        return sa.Boolean()
    if column in INT_COLUMNS:
        return sa.Integer()
    return sa.Text()


# --- value conversion ---------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _to_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else ts.date()


def _py_column(series: pd.Series, kind: sa.types.TypeEngine) -> list[Any]:
    """A column as Python objects the DBAPI accepts (None for missing); vectorised.

    Bad values (a date or number that does not parse) raise: nothing is stored half-right."""
    if isinstance(kind, sa.Date):
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series.astype("object"), format="mixed")
        return series.dt.date.astype("object").where(series.notna(), None).tolist()
    if isinstance(kind, sa.Boolean):
        return pd.array(series, dtype="boolean").to_numpy(dtype=object, na_value=None).tolist()
    if isinstance(kind, sa.Integer):
        return pd.array(series, dtype="Int64").to_numpy(dtype=object, na_value=None).tolist()
    return series.astype("string").to_numpy(dtype=object, na_value=None).tolist()


def _records(frame: pd.DataFrame, table: sa.Table) -> list[dict[str, Any]]:
    cols = [c for c in table.columns if c.name in frame.columns]
    values = [_py_column(frame[c.name], c.type) for c in cols]
    names = [c.name for c in cols]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _arrow_column(values: Any, kind: sa.types.TypeEngine) -> pa.Array | pa.ChunkedArray:
    """A column as an Arrow array of the SQL type (date32, bool, int64, string); vectorised.

    Bad values (a date or number that does not parse) raise: nothing is stored half-right."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if isinstance(kind, sa.Date):
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = pd.to_datetime(series.astype("object"), format="mixed")
        if series.dt.tz is not None:  # the wall-clock date, as .dt.date gives it
            series = series.dt.tz_localize(None)
        return pa.array(series.dt.floor("D"), from_pandas=True).cast(pa.date32())
    if isinstance(kind, sa.Boolean):
        return pa.array(pd.array(series, dtype="boolean"))
    if isinstance(kind, sa.Integer):
        return pa.array(pd.array(series, dtype="Int64"))
    text = pa.array(series.astype("string").array)
    if isinstance(text, pa.ChunkedArray) and any(not len(c) for c in text.chunks):
        # A frame concatenated from an empty one: pyarrow's CSV writer turns an empty chunk into
        # NUL bytes, which COPY rejects.
        text = pa.chunked_array([c for c in text.chunks if len(c)], type=text.type)
    return text


def _insert(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Bulk insert of a frame (its columns that are columns of the table)."""
    return _insert_columns(conn, table, {c: frame[c] for c in frame.columns}, len(frame))


def _insert_columns(conn: Connection, table: sa.Table, data: dict[str, Any], n: int) -> int:
    """Bulk insert of ``n`` rows given column by column (Series or arrays of length ``n``).

    COPY (CSV written by Arrow) on PostgreSQL with psycopg; one executemany of plain tuples on
    SQLite. Both bypass SQLAlchemy's per-value processing and the rows are never built as
    Python objects column by column: the values are converted in bulk exactly as SQLAlchemy
    would (ISO text dates, 0/1 booleans on SQLite; DATE / BOOLEAN on PostgreSQL)."""
    cols = [c for c in table.columns if c.name in data]
    if not n or not cols:
        return 0
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in cols)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        arrow = pa.table([_arrow_column(data[c.name], c.type) for c in cols], names=[c.name for c in cols])
        buf = io.BytesIO()
        # Strings are always quoted, NULL is an unquoted empty field: COPY ... CSV tells them apart.
        pa_csv.write_csv(arrow, buf, pa_csv.WriteOptions(include_header=False))
        raw = conn.connection.driver_connection  # same connection, same transaction
        sql = f"COPY {quote(table.name)} ({names}) FROM STDIN (FORMAT csv)"
        with raw.cursor() as cur, cur.copy(sql) as copy:
            view = buf.getbuffer()
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
            del view
    elif dialect.name == "sqlite":
        lists = []
        for c in cols:
            arr = _arrow_column(data[c.name], c.type)
            if isinstance(c.type, sa.Date):
                arr = arr.cast(pa.string())  # ISO YYYY-MM-DD text, as SQLAlchemy stores a date
            lists.append(arr.to_pylist())
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(cols))})"
        conn.exec_driver_sql(sql, list(zip(*lists, strict=True)))
    else:  # any other database: SQLAlchemy's own executemany
        frame = pd.DataFrame({c.name: data[c.name] for c in cols})
        for start in range(0, len(frame), CHUNK):
            conn.execute(table.insert(), _records(frame.iloc[start : start + CHUNK], table))
    return n


def _select(*columns: sa.Column | tuple[sa.Column, str]) -> sa.Select:
    """SELECT without SQLAlchemy's per-value result processing; _frame converts whole columns.

    A (column, name) pair selects the column under another name."""
    out = []
    for c in columns:
        col, name = c if isinstance(c, tuple) else (c, c.name)
        out.append(sa.type_coerce(col, sa.types.NullType()).label(name))
    return sa.select(*out)


def _frame(result: sa.CursorResult, types: dict[str, str] | None = None) -> pd.DataFrame:
    """A result as a DataFrame with dvsync's dtypes (string / datetime64 / boolean / Int64)."""
    return _frame_rows(result.fetchall(), list(result.keys()), types)


def _frame_rows(rows: list[Any], keys: list[str], types: dict[str, str] | None = None) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(keys)
    return pd.DataFrame(
        {
            col: _as_dtype(pd.Series(values, dtype="object"), (types or {}).get(col) or _kind(col))
            for col, values in zip(keys, columns, strict=True)
        },
        columns=keys,
    )


def _arrow_frame(table: pa.Table, types: dict[str, str] | None = None) -> pd.DataFrame:
    """An Arrow result as a DataFrame with the dtypes ``_frame`` gives (same values, same dtypes)."""
    keys = table.column_names
    return pd.DataFrame(
        {
            col: _arrow_as_dtype(table.column(i), (types or {}).get(col) or _kind(col))
            for i, col in enumerate(keys)
        },
        columns=keys,
    )


def _arrow_as_dtype(col: pa.ChunkedArray, kind: str) -> pd.Series:
    """One column of ``_arrow_frame``; a type it does not expect goes through ``_as_dtype``."""
    t = col.type
    empty = pa.types.is_null(t) or (col.null_count == len(col) and not pa.types.is_string(t))
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    try:
        if kind == "datetime" and (text or pa.types.is_date(t) or empty):
            # ISO text on SQLite (a value that is not a plain date fails the cast: slow path)
            dates = col.cast(pa.date32()) if not empty else pa.nulls(len(col), pa.date32())
            return pd.Series(dates.cast(pa.timestamp("ns")).to_numpy(), copy=False).astype("datetime64[ns]")
        if kind == "boolean" and (pa.types.is_integer(t) or pa.types.is_boolean(t) or empty):
            if pa.types.is_integer(t) and not pc.all(pc.is_in(col.drop_null(), pa.array([0, 1], t))).as_py():
                raise ValueError("not a 0/1 column")
            return pd.Series(pd.BooleanDtype().__from_arrow__(col.cast(pa.bool_())), copy=False)
        if kind in ("Int64", "int", "int64") and (pa.types.is_integer(t) or empty):
            if kind == "int64" and not col.null_count:
                return pd.Series(col.to_numpy().astype("int64"), copy=False)
            return pd.Series(pd.Int64Dtype().__from_arrow__(col.cast(pa.int64())), copy=False)
        if kind == "string" and (text or empty):
            return pd.Series(pd.StringDtype().__from_arrow__(col.cast(pa.large_string())), copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        pass
    return _as_dtype(pd.Series(col.to_pylist(), dtype="object"), kind)


def _kind(column: str) -> str:
    if column in DATE_COLUMNS:
        return "datetime"
    if column in BOOL_COLUMNS:
        return "boolean"
    if column in INT_COLUMNS:
        return "Int64"
    return "string"


def _as_dtype(series: pd.Series, kind: str) -> pd.Series:
    if kind == "datetime":  # ISO text (SQLite) or datetime.date (PostgreSQL)
        return pd.to_datetime(series, format="mixed").astype("datetime64[ns]")
    if kind == "isodate":  # findings keep ISO text dates, as rules.findings.finalize makes them
        return series.map(lambda v: v if v is None else str(v)[:10]).astype("string")
    if kind == "boolean":  # 0/1 on SQLite
        return pd.Series(pd.array(series.tolist(), dtype="boolean"), index=series.index)
    if kind == "int64" and series.notna().all():  # the Excel row of an accepted row (never missing)
        return series.astype("int64")
    if kind in ("Int64", "int", "int64"):
        return pd.Series(pd.array(series.tolist(), dtype="Int64"), index=series.index)
    if kind == "raw":
        return series
    return series.astype("string")


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort in pandas, not SQL: NULL placement and collations differ between SQLite and PostgreSQL."""
    return df.sort_values(by, na_position="first", kind="stable").reset_index(drop=True)
