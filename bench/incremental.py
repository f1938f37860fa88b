"""The central extraction of a steady night: a full read against an incremental one.

    python -m bench.incremental --data DIR [--reps 5] [--changed 0.01] [--tables all|members]
                                [--index] [--postgres] [--work W]
    python -m bench.incremental --work W --once plain|incremental   # one run, for farm-bench

DIR is a demo data set (``dvsync demo --members N --out DIR``); its central.sqlite is copied to
``--work`` (or, with ``--postgres``, into a schema of the local database ``test``, dropped at the
end, with a BIGSERIAL primary key) and every marked table gains a change marker ``rv`` (set from
the key, as a rowversion would be; ``--index``: indexed) keyed by rowid / id. Then ``--changed``
of the member rows are updated (a new name and a marker above every earlier one). Timed, in turn
in each round so that a drift of the machine's speed touches all three alike, each the
extraction the nightly runs (``read_central`` with the partition spill):

- ``plain``: no marker in the mapping (what every night does today);
- ``first``: marked tables, no snapshot yet (a full read in key order that writes the snapshots);
- ``incremental``: marked tables, last night's snapshots (taken before the change; copied afresh
  before each round, not timed).

Wall seconds (perf_counter) and CPU seconds of this process (getrusage: user + system; the
SQLite driver reads in this process, a PostgreSQL server's work is not counted), median and
min-max. The incremental frames are checked equal to a full read's before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sqlite3
import statistics
import time
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from connectors.central import read_central
from connectors.spill import PartitionSpill
from schemas.contract import CENTRAL_TABLES
from schemas.settings import DEFAULT_PARTITION_MEMBERS

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def prepare(data: Path, work: Path, tables: list[str], index: bool) -> tuple[str, Path, Path | None]:
    """The SQLite copy with its markers: (url, the marked mapping, the plain mapping)."""
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
    return f"sqlite:///{db}", _mapping(work, tables, "rowid"), None


def prepare_pg(data: Path, work: Path, tables: list[str], index: bool, schema: str) -> tuple[str, Path, Path]:
    """The same in a PostgreSQL schema (database ``test``): a BIGSERIAL primary key ``id``."""
    from dvsync.demo.loading import copy_tables

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    copy_tables(f"sqlite:///{data / 'central.sqlite'}", PG_URL, schema=schema)
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for t in tables:
            conn.exec_driver_sql(f'ALTER TABLE "{schema}".{t} ADD COLUMN id BIGSERIAL PRIMARY KEY')
            conn.exec_driver_sql(f'ALTER TABLE "{schema}".{t} ADD COLUMN rv BIGINT')
            conn.exec_driver_sql(f'UPDATE "{schema}".{t} SET rv = id')
            if index:
                conn.exec_driver_sql(f'CREATE INDEX ON "{schema}".{t} (rv)')
    with engine.connect() as conn:  # the UPDATE left a dead copy of every row: as autovacuum would
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        for t in tables:
            auto.exec_driver_sql(f'VACUUM ANALYZE "{schema}".{t}')
    engine.dispose()
    plain = work / "plain.yaml"
    plain.write_text(json.dumps({"schema": schema}), encoding="utf-8")
    return PG_URL, _mapping(work, tables, "id", schema), plain


def _mapping(work: Path, tables: list[str], key: str, schema: str | None = None) -> Path:
    mapping = work / "mapping.yaml"
    doc: dict = {"tables": {t: {"change_marker": "rv", "key": key} for t in tables}}
    if schema:
        doc["schema"] = schema
    mapping.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return mapping


def change_members(url: str, fraction: float, schema: str | None) -> int:
    """Update ``fraction`` of the member rows, spread over the table (every k-th key); then
    VACUUM ANALYZE on PostgreSQL, as autovacuum would after such an update."""
    step = max(round(1 / fraction), 1)
    table, key = (f'"{schema}".members', "id") if schema else ("members", "rowid")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        top = conn.execute(sa.text(f"SELECT MAX(rv) FROM {table}")).scalar()
        n = conn.execute(
            sa.text(
                f"UPDATE {table} SET full_name = full_name || ' Văn', rv = :top + {key} WHERE {key} % :step = 0"
            ),
            {"top": top, "step": step},
        ).rowcount
    if schema:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"VACUUM ANALYZE {table}")
    engine.dispose()
    return n


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
    ap.add_argument("--data", type=Path, help="the demo data set (not with --once)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/dvsync-bench-incremental"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--changed", type=float, default=0.01, help="fraction of member rows updated")
    ap.add_argument("--tables", choices=["all", "members"], default="all", help="which tables are marked")
    ap.add_argument("--index", action="store_true", help="index the marker column")
    ap.add_argument("--postgres", action="store_true", help="central in PostgreSQL (database test)")
    ap.add_argument(
        "--once",
        choices=["plain", "incremental"],
        help="one extraction on the SQLite --work left by a run (for farm-bench: whole processes)",
    )
    args = ap.parse_args()
    if args.once:
        once(args.work, args.once)
        return
    if args.data is None:
        ap.error("--data is needed")
    logging.basicConfig(level=logging.WARNING)
    tables = list(CENTRAL_TABLES) if args.tables == "all" else ["members"]

    schema = f"dvsync_bench_inc_{uuid.uuid4().hex[:8]}" if args.postgres else None
    if schema:
        url, mapping, plain_mapping = prepare_pg(args.data, args.work, tables, args.index, schema)
    else:
        url, mapping, plain_mapping = prepare(args.data, args.work, tables, args.index)
    try:
        measure(args, url, mapping, plain_mapping, tables, schema)
    finally:
        if schema:
            from dvsync.demo.loading import drop_schema

            drop_schema(PG_URL, schema)


def once(work: Path, how: str) -> None:
    """One extraction as a whole process would run it: last night's snapshots hard-linked afresh
    (the read never writes into a file it did not create)."""
    url = f"sqlite:///{work / 'central.sqlite'}"
    state = None
    if how == "incremental":
        state = work / "state-once"
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(work / "state-baseline", state, copy_function=os.link)
    r = extract(url, work / "mapping.yaml" if state else None, state, work / "spill-once")
    print(f"{how}: {r['wall']:.2f} s, CPU {r['cpu']:.2f} s")


def measure(
    args: argparse.Namespace,
    url: str,
    mapping: Path,
    plain_mapping: Path | None,
    tables: list[str],
    schema: str | None,
) -> None:
    baseline = args.work / "state-baseline"
    extract(url, mapping, baseline, args.work / "spill")  # last night
    changed = change_members(url, args.changed, schema)
    plain = extract(url, plain_mapping, None, args.work / "spill")
    state = args.work / "state"
    shutil.copytree(baseline, state)
    got = extract(url, mapping, state, args.work / "spill")["frames"]
    # The reference: a plain read on SQLite (rowid order); a full read of the marked tables (key
    # order) on PostgreSQL, whose plain order is the heap's.
    same(
        got,
        plain["frames"]
        if not schema
        else extract(url, mapping, args.work / "fresh", args.work / "spill")["frames"],
    )
    shutil.rmtree(args.work / "fresh", ignore_errors=True)
    members = len(plain["frames"][0].get("members", [])) or sum(
        len(p["members"]) for p in plain["frames"][1:]
    )
    print(
        f"{'PostgreSQL (psycopg)' if schema else 'SQLite (ADBC)'}: {members} members, {changed} member rows "
        f"changed; marked: {', '.join(tables)}{' (marker indexed)' if args.index else ''}"
        "; frames equal"
    )

    runs: dict[str, list[dict]] = {"plain": [], "first": [], "incremental": []}
    for _ in range(args.reps):
        runs["plain"].append(extract(url, plain_mapping, None, args.work / "spill"))
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
