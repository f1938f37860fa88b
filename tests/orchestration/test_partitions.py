"""Partitions: chunks of grassroots organisations by province-level committee; the same findings
whatever the number of partitions, even when a member's rows cross partitions."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from connectors.partitions import RECORD, member_partitions, plan_partitions, route, split_central


@pytest.fixture
def tree() -> pd.DataFrame:
    """Province P; committees A (grassroots a1, a2) and B (grassroots b1); a cell under each."""
    rows = [
        ("P", None, "province"),
        ("A", "P", "upper"),
        ("B", "P", "upper"),
        ("a1", "A", "grassroots_committee"),
        ("a2", "A", "grassroots_committee"),
        ("b1", "B", "grassroots_committee"),
        ("a1.c1", "a1", "cell"),
        ("a1.c2", "a1", "cell"),
        ("a2.c1", "a2", "cell"),
        ("b1.c1", "b1", "cell"),
    ]
    return pd.DataFrame(rows, columns=["org_code", "parent_code", "kind"]).astype("string")


def _sizes(**n: int) -> pd.Series:
    return pd.Series({k.replace("_", "."): v for k, v in n.items()}, dtype="int64")


def test_small_tree_is_one_partition(tree: pd.DataFrame) -> None:
    plan = plan_partitions(tree, _sizes(a1_c1=10, a1_c2=10, a2_c1=10, b1_c1=10), target=1000)
    assert set(plan) == {0}
    assert set(plan.index) == {"a1.c1", "a1.c2", "a2.c1", "b1.c1"}


def test_committees_start_new_partitions_and_big_ones_are_cut_by_grassroots(tree: pd.DataFrame) -> None:
    plan = plan_partitions(tree, _sizes(a1_c1=30, a1_c2=30, a2_c1=50, b1_c1=40), target=70)
    # a1 (60) fits; a2 (50) would pass 70 -> a new partition; B starts a new one (a2 is half full).
    assert plan.to_dict() == {"a1.c1": 0, "a1.c2": 0, "a2.c1": 1, "b1.c1": 2}
    # The cells of one grassroots organisation are never separated.
    plan = plan_partitions(tree, _sizes(a1_c1=500, a1_c2=500, a2_c1=1, b1_c1=1), target=10)
    assert plan["a1.c1"] == plan["a1.c2"]


def test_every_row_of_a_member_lands_with_the_member() -> None:
    members = pd.DataFrame(
        {
            "member_code": ["1", "2", " 2", "3.0"],  # "2" twice (a duplicate), "3.0" a float code
            "cell_code": ["a1.c1", "b1.c1", "a1.c1", "b1.c1"],
        },
        dtype="string",
    )
    cell_part = pd.Series({"a1.c1": 0, "b1.c1": 1})
    mp = member_partitions(members, cell_part)
    assert mp.to_dict() == {"1": 0, "2": 1, "3": 1}  # the duplicate follows its first row
    ratings = pd.DataFrame({"member_code": ["3", "2 ", "9", None, "1.0"]}, dtype="string")
    assert route(ratings, mp).tolist() == [1, 1, 0, 0, 0]  # unknown and missing codes -> 0


def test_split_keeps_record_numbers_and_loses_no_row(tree: pd.DataFrame) -> None:
    members = pd.DataFrame(
        {"member_code": ["1", "2", "3", "4"], "cell_code": ["b1.c1", "a1.c1", "a2.c1", "b1.c1"]},
        dtype="string",
    )
    ratings = pd.DataFrame({"member_code": ["4", "1", "2", "x"], "year": [2024, 2024, 2024, 2024]})
    raw = {"organizations": tree, "members": members, "ratings": ratings, "transfers": pd.DataFrame()}
    whole, parts, _ = split_central(dict(raw), target=1)
    assert set(whole) == {"organizations", "transfers"}
    assert len(parts) == 3  # a1, a2, B
    got = pd.concat([p["members"] for p in parts]).sort_values(RECORD)
    assert got["member_code"].tolist() == ["1", "2", "3", "4"]
    assert got[RECORD].tolist() == [1, 2, 3, 4]
    by_part = [sorted(p["ratings"]["member_code"]) for p in parts]
    assert sum(len(r) for r in by_part) == 4
    assert ["2", "x"] in by_part  # the orphan rating sits in partition 0 with a1's member
    # min_partitions: at least that many partitions (one per Dask worker) when the tree allows it.
    assert len(split_central(raw, target=10**9, min_partitions=2)[1]) >= 2


def _with_crossing_faults(demo: Path, dest: Path) -> Path:
    """A copy of the demo whose central rows cross partitions: a member code in two cells of
    different committees, a rating typed with a float's '.0', an orphan rating, an unknown
    document type."""
    shutil.copytree(demo, dest)
    with sqlite3.connect(dest / "central.sqlite") as con:
        cells = [r[0] for r in con.execute("select distinct cell_code from members order by cell_code")]
        first, last = cells[0], cells[-1]
        code = con.execute(
            "select member_code from members where cell_code = ? limit 1", (first,)
        ).fetchone()[0]
        cols = [r[1] for r in con.execute("pragma table_info(members)")]
        row = dict(
            zip(
                cols,
                con.execute("select * from members where member_code = ?", (code,)).fetchone(),
                strict=True,
            )
        )
        row["cell_code"] = last
        con.execute(
            f"insert into members ({','.join(cols)}) values ({','.join('?' * len(cols))})", list(row.values())
        )
        other = con.execute(
            "select member_code from members where cell_code = ? limit 1", (last,)
        ).fetchone()[0]
        con.execute("insert into ratings values (?, 2021, 'KHTNV')", (f"{other}.0",))
        con.execute("insert into ratings values ('ZZ-0001', 2024, 'HTNV')")
        con.execute("update dossier_documents set doc_type = 'không rõ' where rowid = 7")
    return dest


@pytest.mark.slow
def test_partitioned_run_gives_the_same_lists(
    demo_small: Path, prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.nightly import nightly_reconciliation

    work = tmp_path / "work"  # where the partitions' files go (DVSYNC_WORK_DIR)
    work.mkdir()
    monkeypatch.setenv("DVSYNC_WORK_DIR", str(work))
    demo = _with_crossing_faults(demo_small, tmp_path / "demo")
    as_of = json.loads((demo / "demo.json").read_text())["as_of"]
    summaries = {}
    for name, size in (("whole", 10**9), ("parts", 150)):
        summaries[name] = nightly_reconciliation(
            central=f"sqlite:///{demo / 'central.sqlite'}",
            submissions=str(demo / "submissions"),
            out=str(tmp_path / name),
            as_of=as_of,
            partition_members=size,
        )
    assert summaries["whole"]["partitions"] == 1
    assert summaries["parts"]["partitions"] >= 8
    assert work.is_dir() and list(work.iterdir()) == []  # the run's files went with the run
    assert not list((tmp_path / "parts").glob(".dvsync-partitions-*"))
    for f in ("findings.csv", "quarantine.csv"):
        whole = (tmp_path / "whole" / f).read_bytes()
        assert whole.count(b"\n") > 10
        assert (tmp_path / "parts" / f).read_bytes() == whole, f
    assert summaries["parts"]["rows"] == summaries["whole"]["rows"]
    q = pd.read_csv(tmp_path / "parts" / "quarantine.csv", dtype=str)
    central = q[q["source"].str.startswith("central.")]
    # The duplicate member and the unknown document type, named by their record in the export.
    assert {"central.members", "central.dossier_documents"} <= set(central["source"])
    assert central.loc[central["source"] == "central.dossier_documents", "row"].tolist() == ["7"]


def test_each_partition_gets_its_own_members_activity_and_every_workbook() -> None:
    from connectors.partitions import split_submissions
    from schemas.datasets import SubmissionData

    subs = SubmissionData.empty()
    subs.workbooks = pd.DataFrame(
        {"cell_code": ["a1.c1", "b1.c1"], "period": ["2026-10"] * 2}, dtype="string"
    )
    subs.activity = pd.DataFrame(
        {"member_code": ["1", "2", "9", "2.0"], "month": ["2026-10"] * 4}, dtype="string"
    )
    subs.roster = pd.DataFrame({"member_code": ["1", "2"]}, dtype="string")
    parts = split_submissions(subs, pd.Series({"1": 0, "2": 1}), 2)
    assert [p.activity["member_code"].tolist() for p in parts] == [["1", "9"], ["2", "2.0"]]
    assert all(len(p.workbooks) == 2 and p.roster.empty for p in parts)  # rosters are for the tree rules
