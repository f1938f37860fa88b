"""The ``odbc:`` path: pyodbc straight on an ODBC connection string or DSN, no SQLAlchemy dialect.

Plain ANSI SELECTs (double-quoted identifiers: SQL Server accepts them, QUOTED_IDENTIFIER is on
for ODBC sessions), fetched with ``fetchmany``. The database behind the driver is recognised
from SQL_DBMS_NAME only to choose the snapshot statement and the driver options that keep memory
bounded (psqlODBC otherwise buffers a whole result set in C before the first fetch).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pyodbc

from connectors.central.base import (
    MSSQL_FALLBACK,
    MSSQL_SNAPSHOT_ALLOWED,
    fetch_ints,
    log,
    snapshot_statements,
)

LOGIN_TIMEOUT = 15  # seconds; a refused or filtered port must fail fast enough to retry


def _options(conn_str: str) -> dict[str, str]:
    """Keys of an ODBC connection string, lower-cased (values may be {braced;})."""
    pairs = re.findall(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)", conn_str)
    return {k.lower(): v for k, v in pairs}


def tune_connection_string(conn_str: str) -> str:
    """Driver options for streaming, added only when the caller did not set them.

    psqlODBC: ``UseDeclareFetch=1`` reads through a server cursor (``Fetch`` rows per round trip)
    instead of materialising the result set client-side; it needs a transaction, which we have.
    """
    opts = _options(conn_str)
    driver = opts.get("driver", "").lower()
    extra = []
    if "postgres" in driver or "psql" in driver:
        if "usedeclarefetch" not in opts:
            extra.append("UseDeclareFetch=1")
        if "fetch" not in opts:
            extra.append("Fetch=10000")
    if not extra:
        return conn_str
    return conn_str.rstrip("; ") + ";" + ";".join(extra)


class OdbcReader:
    dialect = None  # build_select() then writes ANSI SQL

    def __init__(self, cnxn: pyodbc.Connection) -> None:
        self.cnxn = cnxn
        self.dbms = str(cnxn.getinfo(pyodbc.SQL_DBMS_NAME) or "")

    def probe(self, sql: str) -> list[str] | None:
        # Autocommit is still on here: a failed probe cannot poison the snapshot transaction.
        try:
            cur = self.cnxn.cursor()
            try:
                cur.execute(sql)
                # sqliteodbc reports a name's length in UTF-8 bytes, pyodbc reads that many UTF-16
                # units: non-ASCII names come back with a NUL-led tail. Names never hold a NUL.
                return [str(d[0]).split("\x00", 1)[0] for d in cur.description or ()]
            finally:
                cur.close()
        except pyodbc.Error:
            if not self._alive():
                raise
            return None

    def _alive(self) -> bool:
        try:
            self.cnxn.cursor().execute("SELECT 1").fetchall()
            return True
        except pyodbc.Error:
            return False

    def begin_snapshot(self) -> None:
        stmts = snapshot_statements(self.dbms)
        if stmts and "SNAPSHOT" in stmts[0]:
            cur = self.cnxn.cursor()
            row = cur.execute(MSSQL_SNAPSHOT_ALLOWED).fetchone()
            if not row or row[0] != 1:
                log.warning("SQL Server: SNAPSHOT isolation is off for this database; using REPEATABLE READ")
                stmts = [MSSQL_FALLBACK]
        # Autocommit off: the driver opens a transaction before the next statement (psqlODBC sends
        # BEGIN, so SET TRANSACTION is its first statement; sqliteodbc a deferred BEGIN).
        self.cnxn.autocommit = False
        if not stmts:
            with suppress(pyodbc.Error):  # a generic driver: ask ODBC itself, if it listens
                self.cnxn.set_attr(pyodbc.SQL_ATTR_TXN_ISOLATION, pyodbc.SQL_TXN_REPEATABLE_READ)
        for stmt in stmts:
            self.cnxn.cursor().execute(stmt)

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        row = self.cnxn.cursor().execute(sql, *params).fetchone()
        return row[0] if row else None

    def int_column(self, sql: str, chunk_size: int) -> np.ndarray:
        """One integer column (a marked table's keys) straight from the cursor's batches."""
        return fetch_ints(self.cnxn.cursor(), sql, chunk_size)

    def stream(self, sql: str, chunk_size: int, params: tuple = ()) -> Iterator[list[tuple]]:
        cur = self.cnxn.cursor()
        cur.arraysize = chunk_size
        try:
            cur.execute(sql, *params)
            while rows := cur.fetchmany(chunk_size):
                yield rows
        finally:
            cur.close()


@contextmanager
def open_odbc(conn_str: str) -> Iterator[OdbcReader]:
    cnxn = pyodbc.connect(tune_connection_string(conn_str), autocommit=True, timeout=LOGIN_TIMEOUT)
    try:
        dbms = str(cnxn.getinfo(pyodbc.SQL_DBMS_NAME) or "").lower()
        if "postgres" in dbms:
            # psqlODBC "Unicode" talks UTF-8 on the narrow calls: decode both kinds as UTF-8.
            cnxn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
            cnxn.setdecoding(pyodbc.SQL_WCHAR, encoding="utf-8")
            cnxn.setencoding(encoding="utf-8")
        yield OdbcReader(cnxn)
    finally:
        with suppress(pyodbc.Error):
            if not cnxn.autocommit:
                cnxn.rollback()  # read-only: nothing to commit, ever
        cnxn.close()
