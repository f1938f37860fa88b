"""Read the central member database (software 3.0) into contract-named frames.

Sources (contract.md §1):
- any SQLAlchemy URL: ``mssql+pyodbc://`` in production, ``postgresql+psycopg://``, ``sqlite:///``;
- ``odbc:<connection string>``: pyodbc directly, with plain ANSI SELECTs (connectors.odbc), because
  SQLAlchemy has no PostgreSQL dialect over pyodbc and production may hand out only an ODBC DSN.

The real table and column names are not public, so a YAML mapping renames them (``load_mapping``).
The whole extraction is one read-only snapshot (REPEATABLE READ on PostgreSQL, SNAPSHOT on SQL
Server, one deferred transaction on SQLite), fetched in chunks that are turned into Arrow columns
at once, so memory holds the compact data plus one chunk of Python rows. dvsync never writes here.

Credentials never reach a log or a message: everything printable goes through ``redact``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.interfaces import Dialect

from schemas.contract import CENTRAL_DATE_COLUMNS, CENTRAL_INTEGER_COLUMNS, CENTRAL_TABLES
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable  # noqa: F401 (re-exported)

log = logging.getLogger("dvsync.central")

ENV_URL = "DVSYNC_CENTRAL_URL"
ENV_SECRET = "DVSYNC_CENTRAL_SECRET"
ENV_RETRIES = "DVSYNC_CENTRAL_RETRIES"
ENV_RETRY_DELAY = "DVSYNC_CENTRAL_RETRY_DELAY"
ODBC_PREFIX = "odbc:"
MSSQL_DRIVER = "ODBC Driver 18 for SQL Server"


# --- credentials --------------------------------------------------------------------------------

_ODBC_SECRET = re.compile(
    r"(?i)\b((?:pwd|password|accesstoken|access_token)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)"
)
_URL_SECRET = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _secrets_of(source: str | None) -> list[str]:
    """Literal secret values inside a source string, to scrub them from driver messages too."""
    if not source:
        return []
    found = [m.group(2).strip("{}") for m in _ODBC_SECRET.finditer(source)]
    if not source.startswith(ODBC_PREFIX):
        try:
            pw = make_url(source).password
        except Exception:  # noqa: BLE001 - an unparsable URL has no password we can find
            pw = None
        if pw:
            found.append(str(pw))
    return [s for s in found if len(s) >= 3]


def redact(text: str, source: str | None = None) -> str:
    """``text`` with passwords of URLs and ODBC strings (and those of ``source``) replaced by ***."""
    for secret in _secrets_of(source):
        text = text.replace(secret, "***")
    text = _ODBC_SECRET.sub(r"\1***", text)
    return _URL_SECRET.sub(r"\1***@", text)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- source resolution and engines ----------------------------------------------------------------


def resolve_source(source: str | None) -> str | None:
    """Explicit argument > $DVSYNC_CENTRAL_URL > Prefect Secret named by $DVSYNC_CENTRAL_SECRET > None.

    None means "use the bundled demo data".
    """
    if source:
        return source
    if url := os.environ.get(ENV_URL):
        return url
    if block := os.environ.get(ENV_SECRET):
        try:
            from prefect.blocks.system import Secret

            value = Secret.load(block).get()
        except Exception as exc:  # noqa: BLE001 - any failure to load is "source not readable"
            raise SourceUnavailable(
                f"không tải được Prefect Secret '{block}': {_one_line(type(exc).__name__)}"
            ) from None
        return str(value).strip() or None
    return None


def _sqlite_ro_url(url: URL) -> URL:
    """``sqlite:///path`` -> ``sqlite:///file:/abs/path?mode=ro&uri=true``: never creates or writes."""
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file:") or url.query.get("uri"):
        return url
    path = Path(db).expanduser().resolve()
    return url.set(database=f"file:{path.as_posix()}", query={**url.query, "mode": "ro", "uri": "true"})


def _mssql_url(url: URL, read_only: bool) -> URL:
    """ODBC Driver 18 options that matter, kept as the user gave them, defaulted otherwise.

    Driver 18 encrypts by default and verifies the certificate: a self-signed server needs
    ``TrustServerCertificate=yes`` (or better, its CA installed) - we never turn trust on silently.
    """
    if "odbc_connect" in url.query:
        return url
    lower = {k.lower(): k for k in url.query}
    query = dict(url.query)
    defaults = {
        "driver": MSSQL_DRIVER,
        "Encrypt": "yes",
        "TrustServerCertificate": "no",
        "LongAsMax": "yes",
    }  # LongAsMax: NVARCHAR(max) binds correctly with fast_executemany
    if read_only:
        defaults["ApplicationIntent"] = "ReadOnly"  # routes to a readable secondary if there is one
    for key, value in defaults.items():
        if key.lower() not in lower:
            query[key] = value
    return url.set(query=query)


def make_engine(url: str, read_only: bool = False, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for a central or results database URL (never printed with its password).

    - ``mssql+pyodbc``: ODBC Driver 18 options (Encrypt, TrustServerCertificate) honoured,
      ``fast_executemany`` for result writes; strings bind as NVARCHAR (pyodbc's default for str).
    - ``sqlite``: ``read_only`` opens the file with ``mode=ro``; transactions really BEGIN, so that
      several SELECTs see one snapshot (pysqlite otherwise runs reads outside any transaction).
    - everywhere: ``pool_pre_ping`` so a dropped connection is replaced rather than failing a run.
    """
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - the message of ArgumentError may echo the URL
        raise SourceConfigError(f"URL không hợp lệ: {redact(url)}") from None
    backend = u.get_backend_name()
    opts: dict[str, Any] = {"pool_pre_ping": True, **kwargs}
    if backend == "mssql":
        if u.get_driver_name() == "pyodbc":
            u = _mssql_url(u, read_only)
            opts.setdefault("fast_executemany", True)
    elif backend == "sqlite" and read_only:
        u = _sqlite_ro_url(u)
    elif backend == "postgresql" and u.get_driver_name() in ("psycopg", "psycopg2"):
        opts.setdefault("connect_args", {}).setdefault("connect_timeout", 15)
    try:
        engine = sa.create_engine(u, **opts)
    except Exception as exc:  # noqa: BLE001 - unknown dialect, missing DBAPI module...
        raise SourceConfigError(f"Không dùng được nguồn {redact(url)}: {_one_line(str(exc))}") from None
    if backend == "sqlite":
        _sqlite_real_transactions(engine)
    return engine


def _sqlite_real_transactions(engine: Engine) -> None:
    # SQLAlchemy's documented recipe: pysqlite emits no BEGIN before SELECTs, so two reads could
    # see two states of the file. Turn its own handling off and BEGIN ourselves.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


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


def load_mapping(path: Path | str | None) -> Mapping:
    """Read the YAML mapping; unmapped tables and columns keep the contract's names.

    ```yaml
    schema: dbo                 # optional: default schema of every source table
    tables:
      members:
        source: dbo.DangVien    # or [dbo].[DangVien]; null: the source has no such table
        columns: {member_code: MaDangVien, full_name: HoTen, card_no: null}
    ```
    Unknown contract tables or columns are errors (a typo would otherwise silently read nothing).
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
        result[table] = TableMap(table, source, columns)
    if errors:
        raise MappingError(f"Tệp ánh xạ {path}: " + "; ".join(errors))
    return Mapping(result, path)


# --- SQL ----------------------------------------------------------------------------------------


def _ansi_dialect() -> Dialect:
    from sqlalchemy.engine.default import DefaultDialect

    return DefaultDialect()


def build_select(
    table: str | TableMap, mapping: Mapping | None = None, dialect: Dialect | None = None
) -> str:
    """The SELECT of one contract table, its source columns renamed to the contract's names.

    Every identifier is quoted (source names keep their case and diacritics): brackets on SQL
    Server, double quotes elsewhere; ``dialect=None`` gives plain ANSI SQL for ODBC sources.
    A column mapped to None becomes ``NULL AS name``. No ORDER BY: sorting a national table is the
    database's most expensive work and nothing downstream depends on the order.
    """
    tm = table if isinstance(table, TableMap) else (mapping or default_mapping())[table]
    if tm.source is None:
        raise MappingError(f"{tm.table}: không có bảng nguồn")
    dialect = dialect or _ansi_dialect()
    prep = dialect.identifier_preparer

    def q(name: str) -> str:
        return prep.quote_identifier(name)

    cols = [
        f"{q(src)} AS {q(col)}" if src is not None else f"NULL AS {q(col)}" for col, src in tm.columns.items()
    ]
    return f"SELECT {', '.join(cols)} FROM {'.'.join(q(p) for p in tm.source)}"


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

    def scalar(self, sql: str) -> Any: ...

    def stream(self, sql: str, chunk_size: int) -> Iterator[list[tuple]]: ...


class _SAReader:
    def __init__(self, conn: Connection, probe_conn: Connection) -> None:
        self.conn = conn
        self.probe_conn = probe_conn
        self.dialect = conn.dialect
        self.dbms = conn.dialect.name

    def probe(self, sql: str) -> list[str] | None:
        try:
            with self.probe_conn.begin_nested() if self.dbms == "sqlite" else _nullcontext():
                result = self.probe_conn.execution_options(no_parameters=True).exec_driver_sql(sql)
                names = list(result.keys())
                result.close()
                return names
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated or not _alive_sa(self.probe_conn):
                raise
            return None

    def begin_snapshot(self) -> None:
        stmts = snapshot_statements(self.dbms)
        if self.dbms == "mssql":
            allowed = self.probe_conn.exec_driver_sql(MSSQL_SNAPSHOT_ALLOWED).scalar()
            if allowed != 1:
                log.warning("SQL Server: SNAPSHOT isolation is off for this database; using REPEATABLE READ")
                stmts = [MSSQL_FALLBACK]
        if self.conn.in_transaction():
            self.conn.rollback()  # SQLite: the probes' transaction; the snapshot starts afresh
        self.conn.begin()
        for stmt in stmts:
            self.conn.exec_driver_sql(stmt)

    def scalar(self, sql: str) -> Any:
        return self.conn.exec_driver_sql(sql).scalar()

    def stream(self, sql: str, chunk_size: int) -> Iterator[list[tuple]]:
        # stream_results: a server-side cursor on PostgreSQL (psycopg named cursor); pyodbc and
        # sqlite3 cursors already fetch lazily. yield_per bounds the rows buffered client-side.
        # no_parameters: a '%' in a source name must not be taken for a placeholder.
        result = self.conn.execution_options(
            stream_results=True, yield_per=chunk_size, no_parameters=True
        ).exec_driver_sql(sql)
        try:
            yield from result.partitions(chunk_size)
        finally:
            result.close()


@contextmanager
def _nullcontext() -> Iterator[None]:
    yield


def _alive_sa(conn: Connection) -> bool:
    try:
        conn.exec_driver_sql("SELECT 1").scalar()
        return True
    except sa.exc.DBAPIError:
        return False


@contextmanager
def _open_sqlalchemy(url: str) -> Iterator[Reader]:
    engine = make_engine(url, read_only=True, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                # SQLite: one connection for everything (the probes run in savepoints of it).
                yield _SAReader(conn, conn)
            else:
                with engine.connect() as probe:
                    # Probes outside the snapshot: a failed SELECT must not abort its transaction.
                    probe = probe.execution_options(isolation_level="AUTOCOMMIT")
                    yield _SAReader(conn, probe)
            if conn.in_transaction():
                conn.rollback()  # read-only: nothing to commit, ever
    finally:
        engine.dispose()


SENTINEL = "\u0001dvsync"  # the first row's value in every text column


class _SqliteArrowReader:
    """SQLite read column-wise by the ADBC SQLite driver (C, straight into Arrow): about 6 times
    faster than sqlite3's Python rows for a national table.

    Every column is read as TEXT (SQLite lets one column hold integers, reals and text; the
    driver would otherwise print a real in a text column as '9.372163e+09' and lose digits);
    validation parses years and flags as it does for text exports. A first sentinel row of text
    fixes every column's Arrow type before any all-NULL batch can. One deferred transaction holds
    the snapshot, as on the SQLAlchemy path.
    """

    dbms = "sqlite"
    dialect = None
    BATCH_ROWS = 1_000_000  # memory holds the Arrow columns plus one batch inside the driver

    def __init__(self, path: str) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        uri = f"file:{Path(path).expanduser().resolve().as_posix()}?mode=ro"
        self.conn = adbc.connect(uri, autocommit=True)
        self.cur = self.conn.cursor()
        self.cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.BATCH_ROWS)})
        self.cur.execute("SELECT count(*) FROM sqlite_master")  # fails now if it is not a database
        self.cur.fetchall()
        self.in_transaction = False

    def probe(self, sql: str) -> list[str] | None:
        try:
            self.cur.execute(sql)
        except Exception as exc:  # noqa: BLE001 - a missing table or column: the mapping's problem
            if "no such" in str(exc):
                return None
            raise
        names = [d[0] for d in self.cur.description or []]
        self.cur.fetchall()
        return names

    def begin_snapshot(self) -> None:
        self.cur.execute("BEGIN")
        self.in_transaction = True

    def scalar(self, sql: str) -> Any:
        self.cur.execute(sql)
        row = self.cur.fetchone()
        self.cur.fetchall()
        return row[0] if row else None

    def stream(self, sql: str, chunk_size: int) -> Iterator[list[tuple]]:
        self.cur.execute(sql)
        while rows := self.cur.fetchmany(chunk_size):
            yield rows

    def read_arrow(self, sql: str, names: list[str], integers: Iterable[str] = ()) -> pa.Table:
        return pa.Table.from_batches(list(self.iter_arrow(sql, names, integers)))  # never empty: see below

    def iter_arrow(
        self, sql: str, names: list[str], integers: Iterable[str] = ()
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``sql`` in Arrow batches of at most BATCH_ROWS (memory holds one)."""
        q = '"{}"'.format
        # Integer columns (years, flags) stay integers when every value is one, as sqlite3 gives them.
        ints = [n for n in names if n in set(integers)]
        if ints:
            odd = " OR ".join(f"typeof({q(n)}) NOT IN ('integer', 'null')" for n in ints)
            self.cur.execute(f"SELECT 1 FROM ({sql}) WHERE {odd} LIMIT 1")
            if self.cur.fetchall():
                ints = []
        cast = ", ".join(q(n) if n in ints else f"CAST({q(n)} AS TEXT) AS {q(n)}" for n in names)
        text = f"'{SENTINEL}'"
        marker = ", ".join(f"{0 if n in ints else text} AS {q(n)}" for n in names)
        self.cur.execute(f"SELECT {marker} UNION ALL SELECT {cast} FROM ({sql})")
        expected = {n: 0 if n in ints else SENTINEL for n in names}
        first = True
        for batch in self.cur.fetch_record_batch():
            if first:
                head = batch.slice(0, 1).to_pylist()
                if not head or head[0] != expected:  # pragma: no cover - SQLite keeps UNION ALL in order
                    raise RuntimeError("SQLite did not return the sentinel row first")
                yield batch.slice(1)  # even empty: it carries the columns' types
                first = False
            elif batch.num_rows:
                yield batch

    def close(self) -> None:
        if self.in_transaction:
            self.cur.execute("COMMIT")  # read-only: ends the snapshot, writes nothing
        self.cur.close()
        self.conn.close()


def _arrow_sqlite_path(source: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL when the ADBC SQLite driver is installed."""
    try:
        url = make_url(source)
    except Exception:  # noqa: BLE001 - make_engine reports a bad URL
        return None
    db = url.database or ""
    if (
        url.get_backend_name() != "sqlite"
        or url.query
        or not db
        or db == ":memory:"
        or db.startswith("file:")
    ):
        return None
    if os.environ.get("DVSYNC_SQLITE_ARROW", "1") == "0":
        return None
    try:
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency; the sqlite3 path still works
        return None
    return db


@contextmanager
def open_snapshot(source: str, mapping: Mapping | None = None) -> Iterator[Reader]:
    """A reader on ``source`` whose snapshot transaction starts with ``begin_snapshot()``."""
    if source.startswith(ODBC_PREFIX):
        from connectors.odbc import open_odbc

        with open_odbc(source[len(ODBC_PREFIX) :]) as reader:
            yield reader
    elif path := _arrow_sqlite_path(source):
        if not Path(path).expanduser().is_file():
            raise SourceUnavailable(f"{redact(source)}: unable to open database file (no such file)")
        reader = _SqliteArrowReader(path)
        try:
            yield reader
        finally:
            reader.close()
    else:
        with _open_sqlalchemy(source) as reader:
            yield reader


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


# --- extraction ---------------------------------------------------------------------------------


def _resolve_columns(reader: Reader, mapping: Mapping, tables: list[str]) -> dict[str, TableMap]:
    """Check every mapped table and column exists; adopt the source's exact spelling (case)."""
    problems: list[str] = []
    resolved: dict[str, TableMap] = {}
    for t in tables:
        tm = mapping[t]
        if tm.source is None:
            resolved[t] = tm
            continue
        names = reader.probe(probe_sql(tm, reader.dialect))
        if names is None:
            problems.append(f"bảng {tm.source_name} (→ {t})")
            continue
        actual = {n.lower(): n for n in names}
        cols: dict[str, str | None] = {}
        for col, src in tm.columns.items():
            if src is None:
                cols[col] = None
            elif src.lower() in actual:
                cols[col] = actual[src.lower()]
            else:
                problems.append(f"cột {tm.source_name}.{src} (→ {t}.{col})")
        resolved[t] = TableMap(t, tm.source, cols)
    if problems:
        where = (
            f" (tệp ánh xạ {mapping.path})"
            if mapping.path
            else " (không có tệp ánh xạ: dùng tên trong hợp đồng)"
        )
        raise MappingError(f"CSDL trung ương thiếu {len(problems)} mục{where}: " + "; ".join(problems))
    return resolved


def _read_table(reader: Reader, tm: TableMap, chunk_size: int) -> pd.DataFrame:
    return arrow_to_frame(_unify(list(iter_table(reader, tm, chunk_size)), list(tm.columns)))


def iter_table(reader: Reader, tm: TableMap, chunk_size: int) -> Iterator[pa.Table]:
    """One table's rows in Arrow chunks, in export order (column types may differ between chunks:
    ``_unify`` them)."""
    names = list(tm.columns)
    if tm.source is None:
        return
    sql = build_select(tm, dialect=reader.dialect)
    if hasattr(reader, "iter_arrow"):
        for batch in reader.iter_arrow(sql, names, CENTRAL_INTEGER_COLUMNS.get(tm.table, [])):
            yield pa.Table.from_batches([batch])
        return
    for rows in reader.stream(sql, chunk_size):
        chunk = chunk_to_arrow(names, rows)
        del rows  # the Python objects of this chunk go now, not after the next fetch
        yield chunk


class TableSink(Protocol):
    """Where ``read_central`` streams the tables it does not return (see connectors.spill)."""

    streamed: Sequence[str]

    def start(self, frames: dict[str, pd.DataFrame]) -> None:
        """Called inside the snapshot with the other tables, before any streamed one (and again
        from scratch when a retry reads everything again)."""

    def consume(self, table: str, names: list[str], chunks: Iterator[pa.Table]) -> int:
        """Takes one streamed table's chunks; returns its row count."""


def _retryable(exc: BaseException) -> bool:
    """Connection-level failures worth another attempt (refused, dropped, timeout, snapshot conflict)."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig or exc
    state = _sqlstate(exc)
    if state:
        # 08: connection exceptions; HYT: timeouts; 40001: serialisation failure (snapshot conflict);
        # 57P: PostgreSQL admin shutdown/crash; IM: driver manager (missing driver: not worth retrying).
        return state.startswith(("08", "HYT", "40001", "57P", "HY000")) and not state.startswith("IM")
    name = type(exc).__name__
    return name in ("OperationalError", "InterfaceError", "ConnectionTimeout", "ConnectionFailure")


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)  # psycopg
    if state:
        return str(state)
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], str) and re.fullmatch(r"[0-9A-Z]{5}", args[0]):
        return args[0]  # pyodbc: ('08001', '[08001] ...')
    return None


def _describe(exc: BaseException) -> str:
    """The driver's own first words, without SQL, parameters or SQLAlchemy's boilerplate."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    args = getattr(exc, "args", ())
    msg = args[1] if len(args) >= 2 and _sqlstate(exc) and isinstance(args[1], str) else str(exc)
    msg = re.sub(r"\[[^\]]*\]", "", msg)  # pyodbc: [unixODBC][Driver]... prefixes
    msg = re.sub(r"\(Background on this error.*", "", msg, flags=re.S)
    msg = _one_line(msg)
    return (msg[:300] + "…") if len(msg) > 300 else msg or type(exc).__name__


def read_central(
    source: str,
    mapping: Path | str | Mapping | None = None,
    chunk_size: int = 100_000,
    retries: int | None = None,
    retry_delay: float | None = None,
    tables: list[str] | None = None,
    on_snapshot: Callable[[Reader], None] | None = None,
    sink: TableSink | None = None,
) -> dict[str, pd.DataFrame]:
    """Every contract table of ``source`` as a frame with the contract's column names.

    Values are what the driver returns (dates may be datetime64 or ISO text, flags int or bool);
    schemas.central.validate_central converts and validates. ``retries`` further attempts after a
    connection-level failure, waiting ``retry_delay`` × 2^k; then SourceUnavailable (exit 3).
    ``on_snapshot`` is called inside the snapshot (tests check the isolation level there).
    ``sink``: the tables it names are streamed to it chunk by chunk, after the others and in the
    same snapshot, and are not returned (memory never holds them whole).
    Defaults: $DVSYNC_CENTRAL_RETRIES (3) and $DVSYNC_CENTRAL_RETRY_DELAY (2.0 s).
    """
    retries = int(os.environ.get(ENV_RETRIES, "3")) if retries is None else retries
    retry_delay = float(os.environ.get(ENV_RETRY_DELAY, "2.0")) if retry_delay is None else retry_delay
    mp = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    wanted = list(tables or CENTRAL_TABLES)
    unknown = [t for t in wanted if t not in CENTRAL_TABLES]
    if unknown:
        raise MappingError(f"Bảng không có trong hợp đồng dữ liệu: {', '.join(unknown)}")
    if chunk_size < 1:
        raise MappingError("chunk_size phải lớn hơn 0")
    shown = redact(source)
    attempt = 0
    while True:
        try:
            with open_snapshot(source, mp) as reader:
                resolved = _resolve_columns(reader, mp, wanted)
                reader.begin_snapshot()
                if on_snapshot:
                    on_snapshot(reader)
                frames = {}
                streamed = [t for t in wanted if sink is not None and t in sink.streamed]
                for t in wanted:
                    if t in streamed:
                        continue
                    start = time.perf_counter()
                    frames[t] = _read_table(reader, resolved[t], chunk_size)
                    log.info("central %s: %d rows in %.1f s", t, len(frames[t]), time.perf_counter() - start)
                if sink is not None:
                    sink.start(frames)
                    for t in streamed:
                        start = time.perf_counter()
                        rows = sink.consume(
                            t, list(resolved[t].columns), iter_table(reader, resolved[t], chunk_size)
                        )
                        log.info(
                            "central %s: %d rows streamed in %.1f s", t, rows, time.perf_counter() - start
                        )
                return frames
        except (MappingError, SourceUnavailable):
            raise
        except Exception as exc:  # noqa: BLE001 - every driver has its own exception tree
            if not _is_db_error(exc):
                raise
            detail = redact(_describe(exc), source)
            if _retryable(exc) and attempt < retries:
                wait = retry_delay * (2**attempt)
                attempt += 1
                log.warning("central %s: %s; retry %d/%d in %.1f s", shown, detail, attempt, retries, wait)
                time.sleep(wait)
                continue
            tries = f" sau {attempt + 1} lần thử" if attempt else ""
            raise SourceUnavailable(f"{shown}{tries}: {detail}") from None


def _is_db_error(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError | sa.exc.DisconnectionError | ConnectionError | TimeoutError):
        return True
    try:
        import pyodbc

        if isinstance(exc, pyodbc.Error):
            return True
    except ImportError:  # pragma: no cover - pyodbc is a dependency
        pass
    mod = type(exc).__module__
    return mod.startswith(("psycopg", "sqlite3", "pyodbc", "adbc_driver_manager"))


# --- loading test and benchmark databases -------------------------------------------------------


def _sqlite_column_types(conn: Connection, table: str, columns: list[str]) -> dict[str, sa.types.TypeEngine]:
    """Types for the copy, from the SQLite data itself: DATE only if every value is an ISO date."""
    declared = {r[1]: (r[2] or "").upper() for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')}
    dates = set(CENTRAL_DATE_COLUMNS.get(table, []))
    types: dict[str, sa.types.TypeEngine] = {}
    for c in columns:
        qc = f'"{c}"'
        nonnull = f'FROM "{table}" WHERE {qc} IS NOT NULL'
        decl = declared.get(c, "")
        kinds = {r[0] for r in conn.exec_driver_sql(f"SELECT DISTINCT typeof({qc}) {nonnull}")}
        is_date = c in dates or "DATE" in decl
        if not kinds:  # no value at all: trust the declaration and the contract
            types[c] = (
                sa.Date()
                if is_date and "TIME" not in decl
                else sa.DateTime()
                if is_date
                else sa.BigInteger()
                if "INT" in decl or "BOOL" in decl
                else sa.Unicode()
            )
        elif kinds <= {"integer"} and ("INT" in decl or "BOOL" in decl or not decl):
            types[c] = sa.BigInteger()
        elif kinds <= {"integer", "real"}:
            types[c] = sa.Float()
        elif kinds <= {"text"} and (is_date or "TIME" in decl):
            bad_date = conn.exec_driver_sql(
                f"SELECT 1 {nonnull} AND (date({qc}) IS NULL OR date({qc}) != {qc}) LIMIT 1"
            ).first()
            bad_ts = (
                bad_date
                and conn.exec_driver_sql(f"SELECT 1 {nonnull} AND datetime({qc}) IS NULL LIMIT 1").first()
            )
            types[c] = sa.Date() if not bad_date else sa.DateTime() if not bad_ts else sa.Unicode()
        else:
            longest = conn.exec_driver_sql(f"SELECT max(length({qc})) {nonnull}").scalar() or 1
            # NVARCHAR(n) on SQL Server (indexable; unbounded: NVARCHAR(max), never the deprecated
            # NTEXT), VARCHAR elsewhere; Unicode either way.
            types[c] = sa.Unicode(min(4000, max(64, 2 * int(longest)))) if longest <= 2000 else sa.Unicode()
    return types


def create_table_ddl(
    table: str, types: dict[str, sa.types.TypeEngine], dialect: Dialect, schema: str | None = None
) -> str:
    """CREATE TABLE of a copied table, compiled for ``dialect`` (tests assert NVARCHAR on mssql)."""
    from sqlalchemy.schema import CreateTable

    t = sa.Table(table, sa.MetaData(), *(sa.Column(c, ty) for c, ty in types.items()), schema=schema)
    return str(CreateTable(t).compile(dialect=dialect)).strip()


def copy_tables(
    src_url: str,
    dst_url: str,
    tables: Iterable[str] | None = None,
    schema: str | None = None,
    chunk_size: int = 50_000,
) -> dict[str, int]:
    """Copy contract tables from a SQLite file (the demo's central.sqlite) into another database.

    For tests and benchmarks: tables are (re)created with proper types (NVARCHAR/TEXT, DATE,
    BIGINT) in ``schema`` (created if absent), then filled with COPY on PostgreSQL/psycopg and
    chunked executemany elsewhere. Returns the row count per table.
    """
    src = make_engine(src_url, read_only=True)
    dst = make_engine(dst_url)
    counts: dict[str, int] = {}
    try:
        with src.connect() as s, dst.connect() as d:
            if src.dialect.name != "sqlite":
                raise SourceConfigError("copy_tables đọc từ một tệp SQLite")
            present = set(sa.inspect(s).get_table_names())
            if schema:
                with d.begin():
                    if dst.dialect.name == "postgresql":
                        d.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                    elif dst.dialect.name == "mssql":
                        d.exec_driver_sql(
                            f"IF SCHEMA_ID(N'{schema}') IS NULL EXEC('CREATE SCHEMA [{schema}]')"
                        )
            for t in tables or CENTRAL_TABLES:
                if t not in present:
                    continue
                cols = [r[1] for r in s.exec_driver_sql(f'PRAGMA table_info("{t}")')]
                types = _sqlite_column_types(s, t, cols)
                target = sa.Table(
                    t, sa.MetaData(), *(sa.Column(c, ty) for c, ty in types.items()), schema=schema
                )
                with d.begin():
                    target.drop(d, checkfirst=True)
                    target.create(d)
                counts[t] = _copy_rows(s, d, t, target, chunk_size)
    finally:
        src.dispose()
        dst.dispose()
    return counts


def _copy_rows(s: Connection, d: Connection, name: str, target: sa.Table, chunk_size: int) -> int:
    cols = [c.name for c in target.columns]
    select = f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{name}"'
    rows_in = s.execution_options(stream_results=True, yield_per=chunk_size).exec_driver_sql(select)
    n = 0
    with d.begin():
        if d.dialect.name == "postgresql" and d.dialect.driver == "psycopg":
            # COPY in text format: PostgreSQL parses ISO date strings into DATE itself.
            raw = d.connection.driver_connection
            ident = ".".join(f'"{p}"' for p in ((target.schema,) if target.schema else ()) + (name,))
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {ident} ({', '.join(chr(34) + c + chr(34) for c in cols)}) FROM STDIN") as cp,
            ):
                for part in rows_in.partitions():
                    for row in part:
                        cp.write_row(row)
                    n += len(part)
        else:
            # SQLite keeps dates as ISO text; other drivers want date/datetime objects.
            as_date = {c.name for c in target.columns if isinstance(c.type, sa.Date)}
            as_ts = {c.name for c in target.columns if isinstance(c.type, sa.DateTime)}
            for part in rows_in.partitions():
                batch = [dict(zip(cols, r, strict=True)) for r in part]
                for rec in batch:
                    for c in as_date:
                        if isinstance(rec[c], str):
                            rec[c] = pd.Timestamp(rec[c]).date()
                    for c in as_ts:
                        if isinstance(rec[c], str):
                            rec[c] = pd.Timestamp(rec[c]).to_pydatetime()
                d.execute(target.insert(), batch)
                n += len(batch)
    return n


def drop_schema(url: str, schema: str) -> None:
    """Drop a test schema and everything in it (PostgreSQL)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        engine.dispose()


__all__ = [
    "Mapping",
    "MappingError",
    "SourceConfigError",
    "SourceUnavailable",
    "TableMap",
    "build_select",
    "copy_tables",
    "create_table_ddl",
    "drop_schema",
    "load_mapping",
    "make_engine",
    "read_central",
    "redact",
    "resolve_source",
    "snapshot_statements",
]
