"""The sync store with real workbooks: connectors.workbooks parses what dvsync.demo generates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from storekit import derive_workbook, parse_files, sync_folder

from connectors.workbooks import read_submissions

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def demo_tiny(tmp_path_factory) -> Path:
    from dvsync.demo import generate

    out = tmp_path_factory.mktemp("store-demo")
    generate(members=400, out=out, seed=5)
    return out


@pytest.fixture
def folder(demo_tiny, tmp_path) -> Path:
    dst = tmp_path / "submissions"
    shutil.copytree(demo_tiny / "submissions", dst)
    return dst


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_folder_loaded_twice_parses_each_workbook_once(make_store, backend, folder):
    store = make_store(backend)
    n_files = len(list(folder.glob("*.xlsx")))
    parsed, counts = sync_folder(store, folder)
    assert parsed == n_files and counts["loaded"] + counts["rejected"] == n_files
    before = store.workbooks()
    parsed, counts = sync_folder(store, folder)
    assert parsed == 0 and counts["loaded"] == 0
    pd.testing.assert_frame_equal(store.workbooks(), before)
    # A new file is the only one parsed on the next night.
    src = sorted(folder.glob(f"*_{PERIOD}.xlsx"))[0]
    # (the cell's code stays in the name: one cell, one voice, #15)
    derive_workbook(src, folder / src.name.replace(".xlsx", "_late.xlsx"), created_on="2026-11-20")
    parsed, counts = sync_folder(store, folder)
    assert parsed == 1 and counts == {**counts, "loaded": 1, "superseded": 1}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_store_gives_what_the_parser_gives(make_store, backend, folder):
    """The period's tables read back from the store equal connectors.workbooks' own reading."""
    store = make_store(backend)
    sync_folder(store, folder)
    direct, _, _ = read_submissions(folder, period=PERIOD, workers=1)
    stored = store.submissions(PERIOD)
    for name, frame in direct.tables().items():
        if name == "workbooks":
            assert set(stored.workbooks.loc[stored.workbooks["period"] == PERIOD, "checksum"]) == set(
                frame["checksum"]
            )
            continue
        mine = stored.tables()[name]
        mine = mine[mine["period"] == PERIOD]
        key = ["period", "cell_code", "_source", "_row"]
        pd.testing.assert_frame_equal(
            mine.sort_values(key).reset_index(drop=True),
            frame.sort_values(key).reset_index(drop=True),
            obj=name,
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_whole_chunks_store_what_split_workbooks_store(make_store, backend, folder):
    """The flow hands the store whole chunks of workbooks (WorkbookResult.rows) instead of a
    frame per workbook and sheet: the stored submissions and quarantine are the same, and a
    workbook already stored is skipped inside a chunk too."""
    from connectors.workbooks import _parse_all

    files = sorted(folder.glob("*.xlsx"))
    names = [p.name for p in files]
    split_store, chunk_store = make_store(backend, name="split"), make_store(backend, name="chunks")
    split_counts = split_store.load_workbooks(_parse_all(files, names, 1))
    # Three workbooks are in the chunk store already: inside the chunk they must be skipped.
    chunk_store.load_workbooks(_parse_all(files[:3], names[:3], 1))
    chunked = _parse_all(files, names, 1, whole_chunks=True)
    assert all(r.rows is not None and not r.tables for r in chunked if not r.error)
    chunk_counts = chunk_store.load_workbooks(chunked)
    assert chunk_counts["skipped"] == 3
    assert chunk_counts["loaded"] + 3 == split_counts["loaded"]
    a, b = split_store.submissions(PERIOD), chunk_store.submissions(PERIOD)
    for name, frame in a.tables().items():
        if name == "workbooks":
            assert set(frame["checksum"]) == set(b.workbooks["checksum"])
            continue
        assert len(frame) > 0 or name in ("candidates", "screening", "transfers_in", "transfers_out")
        pd.testing.assert_frame_equal(b.tables()[name], frame, obj=name)
    qa, qb = split_store.quarantine(PERIOD), chunk_store.quarantine(PERIOD)
    assert len(qa) > 0
    key = ["source", "sheet", "row", "column", "rule"]
    pd.testing.assert_frame_equal(
        qa.sort_values(key).reset_index(drop=True), qb.sort_values(key).reset_index(drop=True)
    )


def test_corrected_real_workbook_supersedes(make_store, folder):
    store = make_store("sqlite")
    sync_folder(store, folder)
    src = sorted(folder.glob(f"*_{PERIOD}.xlsx"))[0]
    old = parse_files([src])[0]
    cell = old.meta["cell_code"]
    dropped = str(old.tables["roster"]["member_code"].iloc[0])
    fixed = f"{cell}_corrected.xlsx"  # the cell's code stays in the name (#15)
    derive_workbook(src, folder / fixed, created_on="2026-11-25", drop_members=(dropped,))
    parsed, counts = sync_folder(store, folder)
    assert parsed == 1 and counts["superseded"] == 1
    roster = store.submissions(PERIOD).roster
    mine = roster[roster["cell_code"] == cell]
    assert dropped not in set(mine["member_code"])
    assert set(mine["_source"]) == {fixed}
    assert len(mine) == len(old.tables["roster"]) - 1
    status = store.workbooks().set_index("checksum")["status"]
    assert status[old.meta["checksum"]] == "superseded"
