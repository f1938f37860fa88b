"""Central databases through SQLAlchemy: engines (SQL Server over pyodbc, PostgreSQL, SQLite) and
the reader over one snapshot connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from connectors.central.base import (
    MSSQL_DRIVER,
    MSSQL_FALLBACK,
    MSSQL_SNAPSHOT_ALLOWED,
    Reader,
    _one_line,
    fetch_ints,
    log,
    redact,
    snapshot_statements,
)
from schemas.errors import MappingError, SourceConfigError, SourceUnavailable  # noqa: F401 (re-exported)


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

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        if params:
            return self.conn.exec_driver_sql(sql, params).scalar()
        return self.conn.exec_driver_sql(sql).scalar()

    def int_column(self, sql: str, chunk_size: int) -> np.ndarray:
        """One integer column of ``sql`` (a marked table's keys), in this snapshot, without a
        Python object per value where the driver allows. PostgreSQL: the server joins the values
        into a few texts (one per range of 2**20 keys), in a savepoint, so that a key that is not
        a number fails alone and leaves the snapshot usable; elsewhere the DBAPI cursor's own
        batches (no SQLAlchemy row objects). ValueError if a value is not an integer."""
        if self.dbms == "postgresql":
            agg = (
                f"SELECT string_agg(CAST(k AS text), ',') FROM ({sql}) AS s(k) "
                f"GROUP BY CAST(k AS bigint) / {1 << 20}"
            )
            # On the DBAPI connection itself: this Connection streams (server-side cursors), and a
            # SAVEPOINT cannot be a cursor's query.
            cur = self.conn.connection.driver_connection.cursor()
            try:
                cur.execute("SAVEPOINT dvsync_keys")
                try:
                    cur.execute(agg)
                    texts = [r[0] for r in cur.fetchall()]
                except Exception as exc:  # noqa: BLE001 - psycopg's own tree: a key that is not a number
                    if _is_disconnect(exc):
                        raise
                    cur.execute("ROLLBACK TO SAVEPOINT dvsync_keys")
                    raise ValueError("not an integer") from None
                cur.execute("RELEASE SAVEPOINT dvsync_keys")
            finally:
                cur.close()
            if not texts:
                return np.empty(0, dtype=np.int64)
            try:
                parts = pc.split_pattern(pa.array(texts, pa.large_string()), ",").flatten()
                return pc.cast(parts, pa.int64()).to_numpy()
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise ValueError(str(exc)) from None
        return fetch_ints(self.conn.connection.driver_connection.cursor(), sql, chunk_size)

    def stream(self, sql: str, chunk_size: int, params: tuple = ()) -> Iterator[list[tuple]]:
        # stream_results: a server-side cursor on PostgreSQL (psycopg named cursor); pyodbc and
        # sqlite3 cursors already fetch lazily. yield_per bounds the rows buffered client-side.
        # no_parameters: a '%' in a source name must not be taken for a placeholder (with
        # parameters, base.with_parameter has doubled it).
        conn = self.conn.execution_options(
            stream_results=True, yield_per=chunk_size, no_parameters=not params
        )
        result = conn.exec_driver_sql(sql, params) if params else conn.exec_driver_sql(sql)
        try:
            yield from result.partitions(chunk_size)
        finally:
            result.close()


def _is_disconnect(exc: BaseException) -> bool:
    """A lost connection (psycopg: OperationalError, SQLSTATE class 08): not the key's fault."""
    state = str(getattr(exc, "sqlstate", "") or "")
    return type(exc).__name__ in ("OperationalError", "InterfaceError") or state.startswith("08")


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
