"""History as if run one after the other: nights recorded out of date order (two runs serialised
by the run lock in either order, a rerun of yesterday) leave the history of a run in date order."""

from __future__ import annotations

import hashlib
import itertools

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.store import ResultsStore
from schemas.contract import FINDING_COLUMNS

# Which members have a finding on each night (A stays, B goes and comes back, C appears late...).
NIGHTS = {
    "2026-11-15": ["A", "B", "D"],
    "2026-11-16": ["A", "C", "D"],
    "2026-11-17": ["A", "B", "E"],
    "2026-11-18": ["A", "E", "F"],
}
IGNORED = {"started_at", "finished_at", "run_id", "attempts", "last_run_id"}


def findings(as_of: str, members: list[str]) -> pd.DataFrame:
    rows = []
    for m in members:
        row = {c: pd.NA for c in [*FINDING_COLUMNS, "ref"]}
        row.update(
            list_code="ROSTER_NOT_IN_CENTRAL",
            severity="error",
            org_code="C1",
            committee_code="G1",
            member_code=m,
            detail=f"{m} ngày {as_of}",  # changes night to night: the row keeps the last night's text
            rule="HD 12",
            as_of=as_of,
        )
        row["finding_id"] = hashlib.sha1(m.encode()).hexdigest()[:16]
        rows.append(row)
    return pd.DataFrame(rows, columns=[*FINDING_COLUMNS, "ref"]).astype("string")


def dump(store: ResultsStore) -> dict[str, list]:
    out = {}
    with store.engine.connect() as conn:
        for table in ("runs", "findings", "finding_events"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in r.items() if k not in IGNORED)) for r in rows
            )
    return out


def record(store: ResultsStore, order: list[str]) -> None:
    for day in order:
        store.record_run(
            {"run_id": f"run-{day}", "as_of": day, "period": day[:7]}, findings(day, NIGHTS[day])
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(request, tmp_path):
    made = []

    def factory(name: str) -> ResultsStore:
        if request.param == "sqlite":
            store = ResultsStore(f"sqlite:///{tmp_path / name}.sqlite")
        else:
            from pgtest import PG_URL

            schema = f"dvsync_faults_{name}_{tmp_path.name[-12:]}".replace("-", "_").lower()
            store = ResultsStore(f"{PG_URL}?schema={schema}")
            made.append((store, schema))
        store.migrate()
        return store

    yield factory
    for store, schema in made:
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        store.dispose()


ORDERS = [
    ["2026-11-15", "2026-11-16", "2026-11-18", "2026-11-17"],  # two runs started together: 18 won the lock
    ["2026-11-18", "2026-11-17", "2026-11-16", "2026-11-15"],  # every night backwards
    ["2026-11-16", "2026-11-18", "2026-11-15", "2026-11-17", "2026-11-17"],  # and a rerun
]


@pytest.mark.parametrize("order", ORDERS, ids=["swap", "backwards", "mixed-rerun"])
def test_any_order_gives_the_serial_history(make_store, order):
    serial = make_store("serial")
    record(serial, sorted(NIGHTS))
    other = make_store("other")
    record(other, order)
    assert dump(other) == dump(serial)
    runs = other.runs().set_index("as_of")
    assert runs.loc["2026-11-18", ["n_new", "n_open", "n_resolved"]].tolist() == [1, 2, 1]


def test_every_permutation_on_sqlite(tmp_path):
    serial = ResultsStore(f"sqlite:///{tmp_path / 'serial.sqlite'}")
    serial.migrate()
    record(serial, sorted(NIGHTS))
    expected = dump(serial)
    for i, order in enumerate(itertools.permutations(sorted(NIGHTS))):
        store = ResultsStore(f"sqlite:///{tmp_path / f'p{i}.sqlite'}")
        store.migrate()
        record(store, list(order))
        assert dump(store) == expected, order
        store.dispose()
