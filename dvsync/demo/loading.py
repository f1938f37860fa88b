"""Loading a central database from the demo's SQLite file into another (tests and the benchmark
put the same data in PostgreSQL); never used by a run."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import Dialect

from connectors.central.sqlalchemy_reader import make_engine
from schemas.contract import CENTRAL_DATE_COLUMNS, CENTRAL_TABLES
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable  # noqa: F401 (re-exported)

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
