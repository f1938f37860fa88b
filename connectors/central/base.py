"""What every reader of the central database shares: credentials masking, the mapping of table
and column names, the SQL it sends, the ``Reader`` interface and the chunk-to-Arrow conversion.

Each engine has its module (``sqlalchemy``, ``sqlite_arrow``, ``odbc``), all built on this one;
``extract`` opens the snapshot and reads. Credentials never reach a log: everything printable
goes through ``redact``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine.interfaces import Dialect

from schemas.contract import CENTRAL_TABLES
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable  # noqa: F401 (re-exported)
from schemas.secrets import ODBC_PREFIX, redact  # noqa: F401 (re-exported)

log = logging.getLogger("dvsync.central")

ENV_URL = "DVSYNC_CENTRAL_URL"
ENV_SECRET = "DVSYNC_CENTRAL_SECRET"
ENV_RETRIES = "DVSYNC_CENTRAL_RETRIES"
ENV_RETRY_DELAY = "DVSYNC_CENTRAL_RETRY_DELAY"
MSSQL_DRIVER = "ODBC Driver 18 for SQL Server"


# Credentials: the one masking function is schemas.secrets.redact (re-exported here).


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- mapping ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableMap:
    """Where one contract table lives in the source and what its columns are called there.

    ``source`` is the dotted name split into parts (``("dbo", "DangVien")``), None if the source
    has no such table (the frame is then empty). A column mapped to None is read as all-null.
    """

    table: str
    source: tuple[str, ...] | None
    columns: dict[str, str | None]
    # Optional change tracking (connectors.central.incremental): a source column that grows with
    # every insert and update (rowversion, last-modified) and the source's unique integer key.
    marker: str | None = None
    key: str | None = None

    @property
    def source_name(self) -> str:
        return ".".join(self.source) if self.source else "(none)"


@dataclass(frozen=True)
class Mapping:
    tables: dict[str, TableMap]
    path: Path | None = None

    def __getitem__(self, table: str) -> TableMap:
        return self.tables[table]


def _split_name(name: str) -> tuple[str, ...]:
    """``dbo.DangVien`` / ``[dbo].[Đảng Viên]`` / ``"s"."t"`` -> parts, quotes removed."""
    parts = re.findall(r'\[([^\]]+)\]|"([^"]+)"|([^.]+)', name.strip())
    return tuple(next(p for p in groups if p).strip() for groups in parts)


def default_mapping(schema: str | None = None) -> Mapping:
    """The contract's own names, optionally in one schema."""
    prefix = (schema,) if schema else ()
    return Mapping({t: TableMap(t, (*prefix, t), {c: c for c in cols}) for t, cols in CENTRAL_TABLES.items()})


TABLE_KEYS = {"source", "columns", "change_marker", "key"}


def load_mapping(path: Path | str | None) -> Mapping:
    """Read the YAML mapping; unmapped tables and columns keep the contract's names.

    ```yaml
    schema: dbo                 # optional: default schema of every source table
    tables:
      members:
        source: dbo.DangVien    # or [dbo].[DangVien]; null: the source has no such table
        columns: {member_code: MaDangVien, full_name: HoTen, card_no: null}
        change_marker: RowVer   # optional, with key: read only what changed since last night
        key: DangVienID         # the source's unique integer key (primary key)
    ```
    Unknown contract tables, columns or keys are errors (a typo would otherwise silently read
    nothing, or silently read everything every night).
    """
    if path is None:
        return default_mapping()
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise MappingError(f"Không tìm thấy tệp ánh xạ: {path}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"Tệp ánh xạ {path} không phải YAML hợp lệ: {_one_line(str(exc))}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"Tệp ánh xạ {path}: cần một từ điển với khoá 'tables'")
    unknown_keys = set(doc) - {"schema", "tables"}
    tables = doc.get("tables") or {}
    errors = [f"khoá không biết: {', '.join(sorted(map(str, unknown_keys)))}"] if unknown_keys else []
    if not isinstance(tables, dict):
        raise MappingError(f"Tệp ánh xạ {path}: 'tables' phải là từ điển")
    schema = doc.get("schema")
    result = default_mapping(schema).tables
    for table, spec in tables.items():
        if table not in CENTRAL_TABLES:
            errors.append(f"bảng không có trong hợp đồng dữ liệu: {table}")
            continue
        spec = spec or {}
        if not isinstance(spec, dict):
            errors.append(f"{table}: cần 'source' và/hoặc 'columns'")
            continue
        if odd := set(spec) - TABLE_KEYS:
            errors.append(f"{table}: khoá không biết: {', '.join(sorted(map(str, odd)))}")
        marker, key = spec.get("change_marker"), spec.get("key")
        for name, value in (("change_marker", marker), ("key", key)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                errors.append(f"{table}: '{name}' phải là tên một cột của bảng nguồn")
        if (marker is None) != (key is None):
            errors.append(f"{table}: 'change_marker' và 'key' phải đi cùng nhau")
        if "source" in spec and spec["source"] is None:
            source = None
        else:
            src = str(spec.get("source", table))
            source = _split_name(src)
            if len(source) == 1 and schema:
                source = (str(schema), *source)
        columns = {c: c for c in CENTRAL_TABLES[table]}
        for col, src_col in (spec.get("columns") or {}).items():
            if col not in columns:
                errors.append(f"{table}: cột không có trong hợp đồng dữ liệu: {col}")
            else:
                columns[col] = None if src_col is None else str(src_col)
        result[table] = TableMap(
            table, source, columns, str(marker).strip() if marker else None, str(key).strip() if key else None
        )
    if errors:
        raise MappingError(f"Tệp ánh xạ {path}: " + "; ".join(errors))
    return Mapping(result, path)


# --- SQL ----------------------------------------------------------------------------------------


def _ansi_dialect() -> Dialect:
    from sqlalchemy.engine.default import DefaultDialect

    return DefaultDialect()


def build_select(
    table: str | TableMap,
    mapping: Mapping | None = None,
    dialect: Dialect | None = None,
    also: dict[str, str] | None = None,
) -> str:
    """The SELECT of one contract table, its source columns renamed to the contract's names.

    Every identifier is quoted (source names keep their case and diacritics): brackets on SQL
    Server, double quotes elsewhere; ``dialect=None`` gives plain ANSI SQL for ODBC sources.
    A column mapped to None becomes ``NULL AS name``; ``also``: more source columns, by alias (the
    key of a marked table: connectors.central.incremental). No ORDER BY: sorting a national table is the
    database's most expensive work and nothing downstream depends on the order.
    """
    tm = table if isinstance(table, TableMap) else (mapping or default_mapping())[table]
    if tm.source is None:
        raise MappingError(f"{tm.table}: không có bảng nguồn")
    q = (dialect or _ansi_dialect()).identifier_preparer.quote_identifier
    cols = [
        f"{q(src)} AS {q(col)}" if src is not None else f"NULL AS {q(col)}" for col, src in tm.columns.items()
    ]
    extra = [f"{q(src)} AS {q(alias)}" for alias, src in (also or {}).items()]
    return f"SELECT {', '.join(cols + extra)} FROM {'.'.join(q(p) for p in tm.source)}"


def with_parameter(head: str, tail: str, dialect: Dialect | None) -> str:
    """``head`` + the one bound parameter's placeholder, in the driver's own style, + ``tail``.

    Values the database gave (a high-water mark) are always bound, never spliced into the SQL.
    """
    style = getattr(dialect, "paramstyle", "qmark") if dialect is not None else "qmark"
    if style == "qmark":
        return f"{head}?{tail}"
    if style in ("format", "pyformat"):  # psycopg: a '%' of a quoted name must be doubled
        return f"{head.replace('%', '%%')}%s{tail.replace('%', '%%')}"
    raise MappingError(f"kiểu tham số không hỗ trợ: {style}")  # pragma: no cover - no such driver here


def probe_sql(tm: TableMap, dialect: Dialect | None = None) -> str:
    """A zero-row SELECT * that tells whether the table is readable and what its columns are."""
    prep = (dialect or _ansi_dialect()).identifier_preparer
    return f"SELECT * FROM {'.'.join(prep.quote_identifier(p) for p in tm.source or ())} WHERE 1 = 0"


def snapshot_statements(dbms: str) -> list[str]:
    """Statements that make the next transaction one read-only snapshot, per database.

    ``dbms``: a SQLAlchemy dialect name or an ODBC SQL_DBMS_NAME.
    """
    d = dbms.lower()
    if "postgres" in d:
        return ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"]
    if d in ("mssql", "microsoft sql server") or "sql server" in d:
        return ["SET TRANSACTION ISOLATION LEVEL SNAPSHOT"]
    return []  # SQLite: a deferred BEGIN already holds one snapshot for the whole transaction


MSSQL_SNAPSHOT_ALLOWED = "SELECT snapshot_isolation_state FROM sys.databases WHERE name = DB_NAME()"
MSSQL_FALLBACK = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"


# --- readers: one interface over a SQLAlchemy connection and a raw pyodbc connection ---------------


class Reader(Protocol):
    dbms: str
    dialect: Dialect | None

    def probe(self, sql: str) -> list[str] | None: ...

    def begin_snapshot(self) -> None: ...

    def scalar(self, sql: str, params: tuple = ()) -> Any: ...

    def stream(self, sql: str, chunk_size: int, params: tuple = ()) -> Iterator[list[tuple]]: ...


# --- chunks to compact columns --------------------------------------------------------------------


def _to_arrow(values: Iterable[Any]) -> pa.Array:
    values = list(values)
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # Mixed types in one column (SQLite allows it): keep them as text, validation decides.
        return pa.array([None if v is None else str(v) for v in values], pa.large_string())
    if pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.int64()) if arr.type.scale == 0 else arr.cast(pa.float64())
    elif pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())  # one string type across chunks; no 2 GB offset limit
    elif pa.types.is_time(arr.type) or (values and isinstance(values[0], Decimal)):
        arr = pa.array([None if v is None else str(v) for v in values], pa.large_string())
    return arr


def chunk_to_arrow(names: list[str], rows: list[tuple]) -> pa.Table:
    """One fetched chunk -> an Arrow table; the Python row objects can be freed right after."""
    if not rows:
        return pa.table({n: pa.array([], pa.null()) for n in names})
    cols = list(zip(*rows, strict=True))
    return pa.table({n: _to_arrow(c) for n, c in zip(names, cols, strict=True)})


def _unify(chunks: list[pa.Table], names: list[str]) -> pa.Table:
    """Concatenate chunks whose column types may differ (all-null chunks, SQLite's free typing)."""
    if not chunks:
        return pa.table({n: pa.array([], pa.large_string()) for n in names})
    target: dict[str, pa.DataType] = {}
    for n in names:
        types = {c.schema.field(n).type for c in chunks} - {pa.null()}
        if not types:
            target[n] = pa.large_string()
        elif len(types) == 1:
            target[n] = types.pop()
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
            target[n] = pa.float64() if any(pa.types.is_floating(t) for t in types) else pa.int64()
        elif all(pa.types.is_temporal(t) for t in types):
            target[n] = pa.timestamp("us")
        else:
            target[n] = pa.large_string()
    out = []
    for c in chunks:
        arrays = []
        for n in names:
            col = c.column(n)
            if col.type != target[n]:
                col = pc.cast(col, target[n]) if col.type != pa.null() else pa.nulls(len(col), target[n])
            arrays.append(col)
        out.append(pa.table(arrays, names=names))
    return pa.concat_tables(out)


def iter_sql(
    reader: Reader,
    sql: str,
    names: list[str],
    integers: Iterable[str],
    chunk_size: int,
    params: tuple = (),
    own: Iterable[str] = (),
    trusted: Iterable[str] = (),
) -> Iterator[pa.Table]:
    """The rows of ``sql`` (columns ``names``) in Arrow chunks, column-wise where the reader can
    (``integers`` stay integers if all their values are; ``own``: the same, judged on their own;
    ``trusted``: integers by construction)."""
    if hasattr(reader, "iter_arrow"):
        for batch in reader.iter_arrow(sql, names, list(integers), params, list(own), list(trusted)):
            yield pa.Table.from_batches([batch])
        return
    for rows in reader.stream(sql, chunk_size, params):
        chunk = chunk_to_arrow(names, rows)
        del rows  # the Python objects of this chunk go now, not after the next fetch
        yield chunk


def fetch_ints(cursor: Any, sql: str, chunk_size: int) -> np.ndarray:
    """One integer column through a DBAPI cursor, batch by batch into numpy (no Arrow or
    SQLAlchemy object per row). ValueError/TypeError if a value is not an integer."""
    parts = []
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_size):
            values = [r[0] for r in rows]
            if not all(type(v) is int for v in values):  # numpy would turn 1.5 or "7" into 1 and 7
                raise ValueError("not an integer")
            parts.append(np.fromiter(values, dtype=np.int64, count=len(values)))
    finally:
        cursor.close()
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _pandas_type(t: pa.DataType) -> Any:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas: Arrow-backed strings, nullable Int64/boolean, dates as datetime64."""
    return table.to_pandas(types_mapper=_pandas_type, date_as_object=False, self_destruct=True)
