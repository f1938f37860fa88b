"""A PostgreSQL database of this test process's own: created on first import, dropped when the
session ends (tests/conftest.py). Tests never use the machine's shared databases.

Override with DVSYNC_TEST_PG_URL (then that database is used as it is, and not dropped).
"""

from __future__ import annotations

import os
import uuid

_SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
NAME = f"dvsync_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
_OVERRIDE = os.environ.get("DVSYNC_TEST_PG_URL")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=10, **_SERVER) as con:
        con.execute(sql)


if _OVERRIDE:
    PG_URL = _OVERRIDE
    NAME = PG_URL.rsplit("/", 1)[-1].split("?")[0]
else:
    _admin(f'CREATE DATABASE "{NAME}"')
    PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{NAME}"
PG_ODBC = f"odbc:DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT=5432;DATABASE={NAME};UID=postgres"


def drop() -> None:
    if not _OVERRIDE:
        _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
