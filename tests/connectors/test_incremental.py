"""Steady nights proportional to change (connectors.central.incremental), on real databases.

A copy of the demo's central database gains a change marker (``rv``) on three tables: one read
whole (members), one streamed to the partitions (ratings), one global (transfers). Each night
updates, inserts and deletes rows (the marker set above every earlier value, as a rowversion
would be); the incremental read must give exactly the frames of a full read, every time.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from pgtest import PG_ODBC, PG_URL

from connectors.central import MappingError, load_mapping, make_engine, read_central
from connectors.spill import PartitionSpill
from dvsync.demo.loading import copy_tables, drop_schema
from schemas.contract import CENTRAL_TABLES

MARKED = ["members", "ratings", "transfers"]


def _mapping(folder: Path, key: str, schema: str | None = None, tables: list[str] = MARKED) -> Path:
    doc = {"tables": {t: {"change_marker": "rv", "key": key} for t in tables}}
    if schema:
        doc["schema"] = schema
    path = folder / f"mapping-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return path


# The marker: a number (a rowversion) or a last-modified timestamp (PostgreSQL), as SQL that
# turns a key into a step above the largest value.
STEPS = {"BIGINT": "{k}", "TIMESTAMP": "{k} * INTERVAL '1 second'"}


def _add_markers(conn: sa.Connection, key: str, tables: list[str] = MARKED, kind: str = "BIGINT") -> None:
    start = "0" if kind == "BIGINT" else "TIMESTAMP '2026-01-01 00:00:00'"
    for t in tables:
        conn.exec_driver_sql(f"ALTER TABLE {t} ADD COLUMN rv {kind}")
        conn.exec_driver_sql(f"UPDATE {t} SET rv = {start} + {STEPS[kind].format(k=key)}")


def _night(conn: sa.Connection, key: str, n: int, kind: str = "BIGINT") -> None:
    """One day of changes in the central database: updates, inserts and deletes, each written
    with a marker above every earlier one."""
    k = key
    conn = conn.execution_options(no_parameters=True)  # '%' is the modulo here, not a placeholder

    def bump(t: str) -> str:
        return f"(SELECT MAX(rv) FROM {t}) + {STEPS[kind].format(k=k)}"

    cols = {t: ", ".join(CENTRAL_TABLES[t]) for t in MARKED}
    conn.exec_driver_sql(
        f"UPDATE members SET full_name = full_name || ' Văn', status = 'left', rv = {bump('members')} "
        f"WHERE {k} % 37 = {n}"
    )
    conn.exec_driver_sql(f"DELETE FROM members WHERE {k} % 53 = {n}")
    new_members = cols["members"].replace("member_code", f"member_code || 'N{n}'", 1)
    conn.exec_driver_sql(
        f"INSERT INTO members ({cols['members']}, rv) SELECT {new_members}, {bump('members')} "
        f"FROM members WHERE {k} % 101 = {n}"
    )
    conn.exec_driver_sql(f"UPDATE ratings SET rating = NULL, rv = {bump('ratings')} WHERE {k} % 29 = {n}")
    conn.exec_driver_sql(f"DELETE FROM ratings WHERE {k} % 31 = {n}")
    conn.exec_driver_sql(
        f"INSERT INTO ratings ({cols['ratings']}, rv) SELECT {cols['ratings']}, {bump('ratings')} "
        f"FROM ratings WHERE {k} % 43 = {n}"
    )
    conn.exec_driver_sql(f"UPDATE transfers SET to_org = 'T99', rv = {bump('transfers')} WHERE {k} % 7 = {n}")
    conn.exec_driver_sql(f"DELETE FROM transfers WHERE {k} % 11 = {n}")


def _read(source: str, mapping: Path | None, state: Path | None, work: Path) -> list[dict[str, pd.DataFrame]]:
    """Every table as the nightly gets it: the whole ones, then each partition's member tables
    (several partitions: the spilled files are compared too)."""
    shutil.rmtree(work, ignore_errors=True)
    spill = PartitionSpill(work, target=400, min_partitions=3)
    whole = read_central(source, mapping=mapping, sink=spill, state=state, chunk_size=500, retries=0)
    parts = [p if isinstance(p, dict) else p.load() for p in spill.partitions()]
    return [whole, *parts]


def _assert_same(got: list[dict[str, pd.DataFrame]], want: list[dict[str, pd.DataFrame]]) -> None:
    assert len(got) == len(want) > 2
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for t in g:
            pd.testing.assert_frame_equal(g[t], w[t], check_exact=True, obj=t)


def _modes(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """table -> 'incremental' or 'full: <why>' from the log of the last read."""
    out = {}
    for r in caplog.records:
        msg = r.getMessage()
        for t in MARKED:
            if msg.startswith(f"central {t}: incremental read"):
                out[t] = "incremental"
            elif msg.startswith(f"central {t}: full read"):
                out[t] = "full: " + msg.split("(", 1)[1][:-1]
    caplog.clear()
    return out


# --- SQLite ---------------------------------------------------------------------------------------


@pytest.fixture
def central(demo_small: Path, tmp_path: Path) -> Path:
    path = tmp_path / "central.sqlite"
    shutil.copyfile(demo_small / "central.sqlite", path)
    with _sqlite(path) as conn:
        _add_markers(conn, "rowid")
    return path


def _sqlite(path: Path) -> sa.Connection:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    return engine.begin()


@pytest.mark.parametrize("arrow", ["1", "0"], ids=["adbc", "sqlalchemy"])
def test_sqlite_nights_equal_full_reads(
    central: Path, tmp_path: Path, arrow: str, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv("DVSYNC_SQLITE_ARROW", arrow)
    caplog.set_level(logging.INFO, logger="dvsync.central")
    url, state, work = f"sqlite:///{central}", tmp_path / "state", tmp_path / "work"
    mapping = _mapping(tmp_path, "rowid")

    first = _read(url, mapping, state, work)
    assert set(_modes(caplog).values()) == {"full: no snapshot yet"}
    # A marked table is read in key order: on SQLite the rowid order of a plain read.
    _assert_same(first, _read(url, None, None, work))
    caplog.clear()

    for n in (1, 2, 3):
        with _sqlite(central) as conn:
            _night(conn, "rowid", n)
        got = _read(url, mapping, state, work)
        assert _modes(caplog) == dict.fromkeys(MARKED, "incremental"), n
        _assert_same(got, _read(url, None, None, work))
        _assert_same(got, _read(url, mapping, tmp_path / f"fresh-{n}", work))  # a full read, marked

    # Nothing changed: still incremental, still the same; one generation kept per table.
    _assert_same(_read(url, mapping, state, work), _read(url, None, None, work))
    assert sorted(p.name.split("-")[0] for p in state.iterdir()) == sorted(
        MARKED + [f"{t}.json" for t in MARKED]
    )


def test_the_mark_is_the_largest_marker_read(central: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    read_central(f"sqlite:///{central}", mapping=_mapping(tmp_path, "rowid"), state=state, retries=0)
    with sqlite3.connect(central) as conn:
        want, rows = conn.execute("SELECT MAX(rv), COUNT(*) FROM members").fetchone()
    doc = json.loads((state / "members.json").read_text(encoding="utf-8"))
    assert doc["hwm"] == {"type": "int", "value": want}
    assert doc["rows"] == rows and "central.sqlite" not in json.dumps(doc)  # the source as a digest


def test_doubts_read_in_full(central: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    url, state, work = f"sqlite:///{central}", tmp_path / "state", tmp_path / "work"
    mapping = _mapping(tmp_path, "rowid")
    _read(url, mapping, state, work)
    caplog.clear()

    def check(source: str = url, mp: Path = mapping) -> dict[str, str]:
        got = _read(source, mp, state, work)
        _assert_same(got, _read(source, mp, None, work))  # the same mapping, no snapshot: plain reads
        return _modes(caplog)

    # A row written with a marker below the mark (a transaction that committed late).
    with sqlite3.connect(central) as conn:
        conn.execute("INSERT INTO members (member_code, full_name, rv) VALUES ('LATE1', 'Lê Văn Trễ', 0)")
    assert check()["members"] == "full: 1 rows appeared below the high-water mark"
    # The mapping changed (another column for a contract name).
    other = tmp_path / "other.yaml"
    other.write_text(
        mapping.read_text(encoding="utf-8").replace(
            '"members": {', '"members": {"columns": {"card_no": null}, '
        ),
        encoding="utf-8",
    )
    assert load_mapping(other)["members"].columns["card_no"] is None
    assert check(mp=other)["members"] == "full: the mapping changed"
    assert check()["members"] == "full: the mapping changed"  # and back
    # The source table gained a column.
    with sqlite3.connect(central) as conn:
        conn.execute("ALTER TABLE ratings ADD COLUMN note TEXT")
    assert check()["ratings"] == "full: the source table's columns changed"
    # An unreadable snapshot: a piece cut short.
    doc = json.loads((state / "transfers.json").read_text(encoding="utf-8"))
    piece = state / f"transfers-{doc['generation']}" / doc["pieces"][0]["file"]
    piece.write_bytes(piece.read_bytes()[:100])
    assert check()["transfers"] == "full: the snapshot is unreadable (ValueError)"
    # Another central database with the same mapping.
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(central, copy)
    assert set(check(f"sqlite:///{copy}").values()) == {"full: the snapshot is of another central database"}
    # A marker that went back (a database restored from an older backup).
    check()
    with sqlite3.connect(central) as conn:
        conn.execute("UPDATE transfers SET rv = 1")
    assert check()["transfers"] == "full: the change marker went back (a restored database?)"


def test_missing_marker_column_reads_in_full(central: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables:\n  members: {change_marker: RowVersion, key: rowid}\n", encoding="utf-8")
    state = tmp_path / "state"
    frames = read_central(f"sqlite:///{central}", mapping=mapping, state=state, retries=0)
    assert "central members: full read (column RowVersion not in members)" in caplog.messages
    assert len(frames["members"]) > 1000 and not state.exists()


def test_a_key_that_is_not_unique_keeps_no_snapshot(central: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables:\n  ratings: {change_marker: rv, key: year}\n", encoding="utf-8")
    url, state = f"sqlite:///{central}", tmp_path / "state"
    read_central(url, mapping=mapping, state=state, retries=0)
    assert "central ratings: no snapshot kept tonight (the key is not unique)" in caplog.messages
    assert not (state / "ratings.json").exists()
    mapping.write_text("tables:\n  ratings: {change_marker: rv, key: rating}\n", encoding="utf-8")
    caplog.clear()
    read_central(url, mapping=mapping, state=state, retries=0)
    assert "central ratings: no snapshot kept tonight (the key is not an integer column)" in caplog.messages


def test_a_failed_night_leaves_the_last_snapshot(central: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    url, state, work = f"sqlite:///{central}", tmp_path / "state", tmp_path / "work"
    mapping = _mapping(tmp_path, "rowid")
    _read(url, mapping, state, work)
    before = {p.name: p.read_bytes() for p in state.glob("*.json")}
    with _sqlite(central) as conn:
        _night(conn, "rowid", 1)

    class Dies(PartitionSpill):
        def consume(self, table, names, chunks):  # noqa: ANN001, ANN201
            next(iter(chunks))  # the snapshot of the table is being written...
            raise RuntimeError("killed")  # ... when the run dies

    with pytest.raises(RuntimeError, match="killed"):
        read_central(url, mapping=mapping, sink=Dies(work, 400, 3), state=state, chunk_size=500, retries=0)
    assert {p.name: p.read_bytes() for p in state.glob("*.json")} == before
    assert len([p for p in state.iterdir() if p.is_dir()]) == len(MARKED)  # the half-written one is gone
    caplog.clear()
    _assert_same(_read(url, mapping, state, work), _read(url, None, None, work))
    assert _modes(caplog) == dict.fromkeys(MARKED, "incremental")


def test_mapping_names_marker_and_key_together(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("tables:\n  members: {change_marker: rv}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="'change_marker' và 'key' phải đi cùng nhau"):
        load_mapping(path)
    path.write_text("tables:\n  members: {change_maker: rv, key: id}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="members: khoá không biết: change_maker"):
        load_mapping(path)
    path.write_text("tables:\n  members: {change_marker: [rv], key: id}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="'change_marker' phải là tên một cột"):
        load_mapping(path)
    path.write_text("tables:\n  members: {change_marker: RowVer, key: DangVienID}\n", encoding="utf-8")
    tm = load_mapping(path)["members"]
    assert (tm.marker, tm.key) == ("RowVer", "DangVienID")
    assert load_mapping(None)["members"].marker is None


# --- PostgreSQL (psycopg and ODBC) ------------------------------------------------------------------


@pytest.fixture(params=["BIGINT", "TIMESTAMP"])
def pg_central(demo_small: Path, tmp_path: Path, request):
    try:
        make_engine(PG_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not running on 127.0.0.1:5432 (run .ci/system-deps.sh): {exc}")
    schema = f"dvsync_inc_{uuid.uuid4().hex[:10]}"
    copy_tables(f"sqlite:///{demo_small / 'central.sqlite'}", PG_URL, schema=schema)
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'SET search_path TO "{schema}"')
        for t in MARKED:
            conn.exec_driver_sql(f"ALTER TABLE {t} ADD COLUMN id BIGSERIAL PRIMARY KEY")
        _add_markers(conn, "id", kind=request.param)
    try:
        yield engine, schema, request.param
    finally:
        engine.dispose()
        drop_schema(PG_URL, schema)


@pytest.mark.parametrize("driver", ["psycopg", "odbc"])
def test_postgresql_nights_equal_full_reads(pg_central, tmp_path: Path, driver: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="dvsync.central")
    engine, schema, kind = pg_central
    url = PG_URL if driver == "psycopg" else PG_ODBC
    state, work = tmp_path / "state", tmp_path / "work"
    mapping = _mapping(tmp_path, "id", schema)
    plain_mapping = tmp_path / "plain.yaml"
    plain_mapping.write_text(f"schema: {schema}\n", encoding="utf-8")
    _read(url, mapping, state, work)
    assert set(_modes(caplog).values()) == {"full: no snapshot yet"}
    for n in (1, 2):
        with engine.begin() as conn:
            conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            _night(conn, "id", n, kind)
        got = _read(url, mapping, state, work)
        assert _modes(caplog) == dict.fromkeys(MARKED, "incremental"), n
        # PostgreSQL has no stable order without ORDER BY: the reference is a full read of the
        # marked tables (in key order) with no snapshot to build on.
        _assert_same(got, _read(url, mapping, tmp_path / f"fresh-{n}", work))
        plain = read_central(url, mapping=plain_mapping, retries=0)
        for t in MARKED:  # and the same rows as an unmarked read, in its own order
            assert _rows(pd.concat([g[t][CENTRAL_TABLES[t]] for g in got if t in g])) == _rows(plain[t]), t
    hwm = json.loads((state / "members.json").read_text(encoding="utf-8"))["hwm"]
    assert hwm["type"] == {"BIGINT": "int", "TIMESTAMP": "datetime"}[kind]


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(frame.astype("string").fillna("<null>").itertuples(index=False, name=None))


# --- the whole night ------------------------------------------------------------------------------


def test_nightly_lists_are_the_same_with_and_without_the_marker(
    demo_small: Path, prefect_harness, tmp_path: Path
) -> None:
    """A night that reads incrementally publishes the very files of a night that reads in full."""
    from flows.nightly import nightly_reconciliation

    central = tmp_path / "central.sqlite"
    shutil.copyfile(demo_small / "central.sqlite", central)
    every = list(CENTRAL_TABLES)
    with _sqlite(central) as conn:
        _add_markers(conn, "rowid", every)
    mapping = _mapping(tmp_path, "rowid", tables=every)
    as_of = json.loads((demo_small / "demo.json").read_text())["as_of"]

    def night(out: Path, mp: Path | None) -> None:
        nightly_reconciliation(
            central=f"sqlite:///{central}",
            submissions=str(demo_small / "submissions"),
            out=str(out),
            as_of=as_of,
            mapping=str(mp) if mp else None,
            partition_members=400,
        )

    night(tmp_path / "first", mapping)  # last night: read in full, snapshots kept
    state = tmp_path / "first" / ".state" / "central"
    assert sorted(p.name for p in state.glob("*.json")) == sorted(f"{t}.json" for t in every)
    with _sqlite(central) as conn:
        _night(conn, "rowid", 1)
    # Tonight, twice from the same history (none): with last night's snapshots, and in full.
    shutil.copytree(state, tmp_path / "incremental" / ".state" / "central")
    seen: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("dvsync.central")
    logger.addHandler(handler)  # directly: Prefect's logging does not reach caplog
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False
    try:
        night(tmp_path / "incremental", mapping)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
    modes = [m for m in seen if "incremental read" in m or "full read" in m]
    assert len(modes) == len(every) and all(": incremental read:" in m for m in modes), modes
    night(tmp_path / "full", None)
    for name in ("findings.csv", "quarantine.csv"):
        got, want = ((tmp_path / d / name).read_bytes() for d in ("incremental", "full"))
        assert got == want, name
    assert len(pd.read_csv(tmp_path / "full" / "findings.csv")) > 100
