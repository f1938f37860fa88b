"""The central extraction of a steady night: a full read against an incremental one.

    python -m bench.incremental --data DIR [--reps 5] [--changed 0.01] [--tables all|members]

DIR is a demo data set (``dvsync demo --members N --out DIR``); its central.sqlite is copied to
``--work`` and every marked table gains a change marker (``rv``, set to the rowid, as a
rowversion would be) keyed by rowid. Then ``--changed`` of the member rows are updated (a new
name and a marker above every earlier one). Timed, in turn in each round so that a drift of the
machine's speed touches all three alike, each the extraction the nightly runs
(``read_central`` with the partition spill):

- ``plain``: no marker in the mapping (what every night does today);
- ``first``: marked tables, no snapshot yet (a full read in key order that writes the snapshots);
- ``incremental``: marked tables, last night's snapshots (taken before the change; copied afresh
  before each round, not timed).

Wall seconds (perf_counter) and CPU seconds of the process (getrusage: user + system; the
SQLite driver reads in this process), median and min-max. The incremental frames are checked
equal to the plain read's before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

import pandas as pd

from connectors.central import read_central
from connectors.spill import PartitionSpill
from schemas.contract import CENTRAL_TABLES
from schemas.settings import DEFAULT_PARTITION_MEMBERS


def prepare(data: Path, work: Path, tables: list[str], index: bool) -> tuple[str, Path]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "central.sqlite"
    shutil.copyfile(data / "central.sqlite", db)
    with sqlite3.connect(db) as conn:
        for t in tables:
            conn.execute(f"ALTER TABLE {t} ADD COLUMN rv INTEGER")
            conn.execute(f"UPDATE {t} SET rv = rowid")
            if index:
                conn.execute(f"CREATE INDEX {t}_rv ON {t} (rv)")
    mapping = work / "mapping.yaml"
    doc = {"tables": {t: {"change_marker": "rv", "key": "rowid"} for t in tables}}
    mapping.write_text(json.dumps(doc), encoding="utf-8")
    return f"sqlite:///{db}", mapping


def change_members(url: str, fraction: float) -> int:
    """Update ``fraction`` of the member rows, spread over the table (every k-th rowid)."""
    step = max(round(1 / fraction), 1)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        top = conn.execute("SELECT MAX(rv) FROM members").fetchone()[0]
        cur = conn.execute(
            "UPDATE members SET full_name = full_name || ' Văn', rv = ? + rowid WHERE rowid % ? = 0",
            (top, step),
        )
        return cur.rowcount


def extract(url: str, mapping: Path | None, state: Path | None, spill_dir: Path) -> dict:
    spill = PartitionSpill(spill_dir, DEFAULT_PARTITION_MEMBERS)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    whole = read_central(url, mapping=mapping, sink=spill, state=state, retries=0)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    parts = [p if isinstance(p, dict) else p.load() for p in spill.partitions()]
    spill.cleanup()
    return {"wall": wall, "cpu": cpu, "frames": [whole, *parts]}


def same(a: list[dict[str, pd.DataFrame]], b: list[dict[str, pd.DataFrame]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for t in x:
            pd.testing.assert_frame_equal(x[t], y[t], check_exact=True, obj=t)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/dvsync-bench-incremental"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--changed", type=float, default=0.01, help="fraction of member rows updated")
    ap.add_argument("--tables", choices=["all", "members"], default="all", help="which tables are marked")
    ap.add_argument("--index", action="store_true", help="index the marker column")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tables = list(CENTRAL_TABLES) if args.tables == "all" else ["members"]

    url, mapping = prepare(args.data, args.work, tables, args.index)
    baseline = args.work / "state-baseline"
    extract(url, mapping, baseline, args.work / "spill")  # last night
    changed = change_members(url, args.changed)
    plain = extract(url, None, None, args.work / "spill")
    state = args.work / "state"
    shutil.copytree(baseline, state)
    same(extract(url, mapping, state, args.work / "spill")["frames"], plain["frames"])
    members = len(plain["frames"][0].get("members", [])) or sum(
        len(p["members"]) for p in plain["frames"][1:]
    )
    print(
        f"{members} members, {changed} member rows changed; marked: {', '.join(tables)}"
        f"{' (marker indexed)' if args.index else ''}; frames equal"
    )

    runs: dict[str, list[dict]] = {"plain": [], "first": [], "incremental": []}
    for _ in range(args.reps):
        runs["plain"].append(extract(url, None, None, args.work / "spill"))
        shutil.rmtree(state, ignore_errors=True)
        runs["first"].append(extract(url, mapping, state, args.work / "spill"))
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(baseline, state)
        runs["incremental"].append(extract(url, mapping, state, args.work / "spill"))
    print(f"\n| read ({args.reps} runs) | wall s, median (min–max) | CPU s, median (min–max) |")
    print("|---|---|---|")
    for name, rs in runs.items():
        print(f"| {name} | {spread([r['wall'] for r in rs])} | {spread([r['cpu'] for r in rs])} |")
    ratio = [p["wall"] / i["wall"] for p, i in zip(runs["plain"], runs["incremental"], strict=True)]
    print(f"\nplain / incremental, wall, pair by pair: {spread(ratio)}")


if __name__ == "__main__":
    main()
