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
    derive_workbook(src, folder / "late.xlsx", created_on="2026-11-20")
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


def test_corrected_real_workbook_supersedes(make_store, folder):
    store = make_store("sqlite")
    sync_folder(store, folder)
    src = sorted(folder.glob(f"*_{PERIOD}.xlsx"))[0]
    old = parse_files([src])[0]
    cell = old.meta["cell_code"]
    dropped = str(old.tables["roster"]["member_code"].iloc[0])
    derive_workbook(src, folder / "corrected.xlsx", created_on="2026-11-25", drop_members=(dropped,))
    parsed, counts = sync_folder(store, folder)
    assert parsed == 1 and counts["superseded"] == 1
    roster = store.submissions(PERIOD).roster
    mine = roster[roster["cell_code"] == cell]
    assert dropped not in set(mine["member_code"])
    assert set(mine["_source"]) == {"corrected.xlsx"}
    assert len(mine) == len(old.tables["roster"]) - 1
    status = store.workbooks().set_index("checksum")["status"]
    assert status[old.meta["checksum"]] == "superseded"
