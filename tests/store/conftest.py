"""Fixtures of the results-database tests: a fresh store on SQLite and on PostgreSQL.

PostgreSQL: 127.0.0.1:5432, user postgres, a database of the test process's own (tests/pgtest.py).
Each test gets its own schema ``dvsync_store_<session>_<n>``, dropped afterwards. The tests do
not skip when the server is missing: CI has it.
"""

from __future__ import annotations

import itertools

import pytest
from storekit import PG_URL, SESSION, drop_schema, findings_frame, workbook

from connectors.store import ResultsStore

_counter = itertools.count()


def pg_schema() -> str:
    return f"dvsync_store_{SESSION}_{next(_counter)}"


@pytest.fixture
def make_store(tmp_path):
    """make_store(backend) -> a migrated ResultsStore; cleaned up after the test."""
    made: list[tuple[ResultsStore, str | None]] = []

    def factory(backend: str = "sqlite", migrate: bool = True, name: str = "results") -> ResultsStore:
        if backend == "sqlite":
            store, schema = ResultsStore(f"sqlite:///{tmp_path / (name + '.sqlite')}"), None
        else:
            schema = pg_schema()
            store = ResultsStore(f"{PG_URL}?schema={schema}")
        made.append((store, schema))
        if migrate:
            store.migrate()
        return store

    yield factory
    for store, schema in made:
        store.dispose()
        if schema:
            drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, make_store) -> ResultsStore:
    return make_store(request.param)


@pytest.fixture
def wb():
    return workbook


@pytest.fixture
def ff():
    return findings_frame


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_schemas():
    """Whatever happens to a test, no schema of this session outlives it."""
    yield
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        names = (
            conn.execute(
                sa.text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
                {"p": f"dvsync\\_%\\_{SESSION}\\_%"},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    for name in names:
        drop_schema(name)
