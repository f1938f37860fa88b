"""The store's read-back kept columnar between nights (issue #19; connectors/store/readback.py).

With ``cache_dir`` the frames of ``submissions()`` are exactly those read from the database, on
SQLite and PostgreSQL, across nights with new, corrected, superseded and late workbooks; a month
whose accepted workbooks did not change is read from its file, any doubt from the database.
"""

from __future__ import annotations

import json
import logging
import os

import pandas as pd
import pyarrow as pa
import pytest

from connectors.store import SUB
from connectors.store.readback import _KEY

PERIOD = "2026-03"
MONTHS = ("2026-01", "2026-02", "2026-03")
TABLES = ("workbooks", *SUB)


def _book(wb, cell: str, period: str, created: str, version: str = "", absent: tuple[str, ...] = ()):
    members = [f"{cell}-M{i}" for i in range(1, 4)]
    # Every member listed for every month of the year so far (a cell sending late months too),
    # and a member shared by two cells (the latest workbook wins per member and month).
    shared = ["SHARED"] if cell in ("C1", "C2") else []
    months = [m for m in MONTHS if m <= period]
    activity = [(m, mo, m not in absent, False, True) for mo in months for m in [*members, *shared]]
    out = [{"member_code": members[0], "transfer_date": f"{period}-10", "to_org": "X", "decision_no": cell}]
    return wb(
        cell,
        period,
        created,
        members=members + shared,
        activity=activity,
        transfers_out=out,
        screening=[(members[1], 2, "ghi chú")],
        version=version,
    )


def _same(store, tmp_path, expect_hits: int | None = None, caplog=None) -> None:
    if caplog is not None:
        caplog.clear()
    cached = store.submissions(PERIOD, cache_dir=tmp_path / "cache")
    plain = store.submissions(PERIOD)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(cached, name), getattr(plain, name), obj=name)
    if expect_hits is not None:
        line = next(r.getMessage() for r in caplog.records if "months from the cache" in r.getMessage())
        assert line.startswith(f"store read-back: {expect_hits} months from the cache"), line


def _night_one(store, wb):
    store.load_workbooks(
        [_book(wb, c, p, f"{p}-25") for c in ("C1", "C2", "C3") for p in MONTHS]
        + [_book(wb, "C4", "2026-02", "2026-02-25")]
    )


def test_nights_same_frames_and_only_changed_months_reread(store, wb, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="connectors.store")
    _night_one(store, wb)
    # 3 history tables x 3 months + 4 tables x the period = 13 months; none cached yet.
    _same(store, tmp_path, 0, caplog)
    _same(store, tmp_path, 13, caplog)
    # A new workbook (C4 sends March), a corrected one (C2 February, an absence): March and
    # February of the history tables and March of the others are read again; January is not.
    store.load_workbooks(
        [
            _book(wb, "C4", "2026-03", "2026-03-25"),
            _book(wb, "C2", "2026-02", "2026-02-27", version="-v2", absent=("C2-M1", "SHARED")),
        ]
    )
    _same(store, tmp_path, 3, caplog)
    assert sum("accepted workbooks changed" in r.getMessage() for r in caplog.records) == 10
    _same(store, tmp_path, 13, caplog)
    # An older copy arriving late is superseded at once: nothing the read-back sees changes.
    store.load_workbooks([_book(wb, "C1", "2026-01", "2026-01-20", version="-old", absent=("C1-M2",))])
    _same(store, tmp_path, 13, caplog)
    # A correction of January that loses its own correction later (superseded by a third copy).
    store.load_workbooks([_book(wb, "C3", "2026-01", "2026-01-28", version="-v2", absent=("C3-M3",))])
    _same(store, tmp_path, 10, caplog)
    store.load_workbooks([_book(wb, "C3", "2026-01", "2026-01-29", version="-v3")])
    _same(store, tmp_path, 10, caplog)
    # Another period (April): March becomes an earlier month, already cached for the history.
    store.load_workbooks([_book(wb, c, "2026-04", "2026-04-25") for c in ("C1", "C2")])
    cached = store.submissions("2026-04", cache_dir=tmp_path / "cache")
    plain = store.submissions("2026-04")
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(cached, name), getattr(plain, name), obj=name)


def test_empty_store_and_no_cache_dir(store, tmp_path):
    cached = store.submissions(PERIOD, cache_dir=tmp_path / "cache")
    plain = store.submissions(PERIOD)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(cached, name), getattr(plain, name), obj=name)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.arrow"))


def test_no_cache_dir_writes_nothing(make_store, wb, tmp_path, monkeypatch):
    store = make_store("sqlite")
    _night_one(store, wb)
    monkeypatch.chdir(tmp_path)
    store.submissions(PERIOD)
    assert not list(tmp_path.rglob("*.arrow"))


def _files(tmp_path) -> list:
    return sorted((tmp_path / "cache").rglob("*.arrow"))


def _restamp(path, change) -> None:
    with pa.memory_map(str(path)) as src:
        reader = pa.ipc.open_file(src)
        stamp = json.loads(reader.schema.metadata[_KEY])
        data = reader.read_all()
    change(stamp)
    data = data.replace_schema_metadata({_KEY: json.dumps(stamp, sort_keys=True).encode()})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as w:
        w.write_table(data)


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda p: p.write_bytes(b"not arrow"), "unreadable"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "unreadable"),
        (lambda p: _restamp(p, lambda s: s["store"].update(revision="0003")), "another store"),
        (lambda p: _restamp(p, lambda s: s["store"].update(url="sqlite:///other.sqlite")), "another store"),
        (lambda p: _restamp(p, lambda s: s.update(columns=[*s["columns"], "x"])), "other columns"),
        (lambda p: _restamp(p, lambda s: s["books"].update(digest="0" * 64)), "workbooks changed"),
    ],
)
def test_any_doubt_reads_the_database(make_store, wb, tmp_path, caplog, spoil, why):
    caplog.set_level(logging.INFO, logger="connectors.store")
    store = make_store("sqlite")
    _night_one(store, wb)
    _same(store, tmp_path)
    target = tmp_path / "cache" / "sub_activity" / "2026-02.arrow"
    spoil(target)
    _same(store, tmp_path, 12, caplog)
    lines = [
        r.getMessage() for r in caplog.records if "sub_activity 2026-02 from the database" in r.getMessage()
    ]
    assert len(lines) == 1 and why in lines[0], lines
    _same(store, tmp_path, 13, caplog)  # rewritten


def test_a_valid_stamp_is_believed(make_store, wb, tmp_path):
    """The cache is really read (its rows, not the database's) when the stamp holds."""
    store = make_store("sqlite")
    _night_one(store, wb)
    store.submissions(PERIOD, cache_dir=tmp_path / "cache")
    path = tmp_path / "cache" / "sub_roster" / f"{PERIOD}.arrow"
    with pa.memory_map(str(path)) as src:
        reader = pa.ipc.open_file(src)
        meta, data = reader.schema.metadata, reader.read_all()
    data = data.slice(0, 1).replace_schema_metadata(meta)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema) as w:
        w.write_table(data)
    assert len(store.submissions(PERIOD, cache_dir=tmp_path / "cache").roster) == 1


def test_another_store_in_the_same_folder(make_store, wb, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="connectors.store")
    one, two = make_store("sqlite", name="one"), make_store("sqlite", name="two")
    _night_one(one, wb)
    _night_one(two, wb)
    _same(one, tmp_path)
    _same(two, tmp_path, 0, caplog)
    assert any("another store" in r.getMessage() for r in caplog.records)


def test_a_failed_write_keeps_the_old_file_and_the_night(make_store, wb, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="connectors.store")
    store = make_store("sqlite")
    _night_one(store, wb)
    _same(store, tmp_path)
    before = {p: p.read_bytes() for p in _files(tmp_path)}
    store.load_workbooks([_book(wb, "C4", "2026-03", "2026-03-25")])

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    _same(store, tmp_path)  # the night goes on, with the database's frames
    assert {p: p.read_bytes() for p in _files(tmp_path)} == before  # whole old files, no temp left
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.endswith(".tmp")]
    assert sum("not cached" in r.getMessage() for r in caplog.records) == 1  # one line, not one a month
    monkeypatch.undo()
    _same(store, tmp_path, 6, caplog)  # the months changed since are read and written now


def test_a_tie_the_database_order_decides_is_read_from_the_database(store, wb, tmp_path, caplog):
    """Two workbooks of one month (a member in two cells) on the same Ngày lập and load (the bench's
    preloaded months have load_seq 0): which row wins is the database's row order, so the
    activity is read from the database, not put together from the months' files."""
    import sqlalchemy as sa

    caplog.set_level(logging.INFO, logger="connectors.store")
    _night_one(store, wb)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sub_workbooks SET load_seq = 0 WHERE period = '2026-01'"))
    _same(store, tmp_path)
    _same(store, tmp_path, 13, caplog)
    assert sum("ties on period" in r.getMessage() for r in caplog.records) == 1
