"""The results database is created by migrations and upgrades in place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import connectors.answers  # noqa: F401 - registers the answers' tables (issue #20) in METADATA
from connectors.store import METADATA, VERSION_TABLE

BACKENDS = ["sqlite", "postgresql"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrate_from_empty_matches_the_model(make_store, backend):
    store = make_store(backend)
    assert store.revision() == "0004"
    store.migrate()  # a second time: nothing to do
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        diff = [
            d
            for d in compare_metadata(ctx, METADATA)
            if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
        ]
        views = set(sa.inspect(conn).get_view_names())
    assert diff == []
    assert {"register_roster", "register_coverage"} <= views


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_in_place_keeps_history(make_store, backend, ff, wb):
    store = make_store(backend, migrate=False)
    store.migrate("0001")
    assert store.revision() == "0001"
    out = store.record_run(
        {"run_id": "r1", "as_of": "2026-10-15", "period": "2026-09"},
        ff([{"member_code": "A"}, {"member_code": "B"}], "2026-10-15"),
    )
    assert list(out["status"]) == ["new", "new"]
    store.migrate()
    assert store.revision() == "0004"
    hist = store.history()
    assert list(hist["member_code"]) == ["A", "B"]
    # The upgraded store works in full: the sync store and history continue.
    assert store.load_workbooks([wb("C1", "2026-10", "2026-11-02")])["loaded"] == 1
    out = store.record_run(
        {"run_id": "r2", "as_of": "2026-11-16", "period": "2026-10"}, ff([{"member_code": "A"}], "2026-11-16")
    )
    assert list(out["status"]) == ["open"]
    assert list(out["first_seen"]) == ["2026-10-15"]


def test_pg_schema_is_isolated(make_store):
    """Two stores in two schemas of one database do not see each other's rows."""
    a, b = make_store("postgresql"), make_store("postgresql")
    assert a.schema != b.schema
    with a.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO runs (scope, as_of, run_id, attempts, n_findings, n_new, n_open, "
                "n_resolved) VALUES ('nightly', '2026-01-01', 'x', 1, 0, 0, 0, 0)"
            )
        )
    assert len(a.runs()) == 1
    assert len(b.runs()) == 0
