"""The store's read-back of the year, with and without the columnar cache (issue #19).

    nice -n 19 .venv/bin/python -m bench.readback --data /work/tmp/demo100k --work /work/tmp/readback100k

Prepares once (kept in ``--work``): the demo's workbooks loaded into a SQLite results store as a
first night stores them, then the year preloaded (``bench/preload.py``: January to the month
before the period). Then, ``--reps`` times each, ``ResultsStore.submissions(period)``:

- ``database``: no cache (what a night does today);
- ``cold``: ``cache_dir`` empty (read from the database, every month written);
- ``warm``: every month's stamp valid (nothing changed since the last read);
- ``changed``: before each run, 5% of the period month's accepted workbooks get a corrected
  version (new checksum, later load, same rows with one attendance flipped; the old one
  superseded), so that month is read from the database and its files rewritten.

Wall and CPU seconds (the process: ADBC reads in threads of it) per run, median and min–max;
every mode's frames are checked equal (``assert_frame_equal``) to the database's.

``--postgres``: the same store copied into a PostgreSQL database of its own (127.0.0.1:5432, user
postgres; created and dropped), ``database``, ``cold`` and ``warm`` only (CPU: this process; the
server's is not counted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

import pandas as pd

from bench.preload import preload_year
from connectors.store import SUB, WORKBOOKS, ResultsStore

TABLES = ("workbooks", *SUB)


def prepare(data: Path, work: Path, period: str) -> Path:
    results = work / "results.sqlite"
    if results.exists():
        return results
    from connectors.workbooks.workers import _parse_all

    work.mkdir(parents=True, exist_ok=True)
    tmp = work / "results-building.sqlite"
    tmp.unlink(missing_ok=True)
    store = ResultsStore(f"sqlite:///{tmp}")
    store.migrate()
    files = sorted((data / "submissions").rglob("*.xlsx"))
    for start in range(0, len(files), 1000):
        batch = files[start : start + 1000]
        sources = [str(p.relative_to(data / "submissions")) for p in batch]
        store.load_workbooks(_parse_all(batch, sources, 2, whole_chunks=True))
    store.dispose()
    print("preload:", preload_year(tmp, period), flush=True)
    tmp.rename(results)
    return results


def correct(results: Path, period: str, share: float, tag: str) -> int:
    """A corrected version of ``share`` of the period's accepted workbooks: a new checksum, a
    later load and Ngày lập, the same rows (one attendance flipped); the old one superseded."""
    con = sqlite3.connect(results)
    try:
        books = [
            r[0]
            for r in con.execute(
                f"SELECT checksum FROM \"{WORKBOOKS.name}\" WHERE status = 'accepted' AND period = ? "
                "ORDER BY checksum",
                (period,),
            )
        ]
        step = max(1, round(1 / share))
        chosen = [c for c in books if int(hashlib.sha256(f"{tag}{c}".encode()).hexdigest(), 16) % step == 0]
        seq = con.execute(f'SELECT max(load_seq) FROM "{WORKBOOKS.name}"').fetchone()[0]
        con.execute("CREATE TEMP TABLE chosen (checksum TEXT PRIMARY KEY)")
        con.executemany("INSERT INTO chosen VALUES (?)", [(c,) for c in chosen])
        cols = [c.name for c in WORKBOOKS.columns]
        values = {
            "checksum": "? || w.checksum",
            "created_on": "date(w.created_on, '+1 day')",
            "load_seq": f"{seq} + (SELECT count(*) FROM chosen c WHERE c.checksum <= w.checksum)",
        }
        con.execute(
            f'INSERT INTO "{WORKBOOKS.name}" ({", ".join(cols)}) '
            f"SELECT {', '.join(values.get(c, f'w.{c}') for c in cols)} "
            f'FROM "{WORKBOOKS.name}" w JOIN chosen USING (checksum)',
            (tag,),
        )
        for name, table in SUB.items():
            tcols = [c.name for c in table.columns if c.name != "id"]
            row = {"checksum": "? || t.checksum"}
            if name == "activity":
                row["attended"] = "CASE WHEN t._row = 2 THEN NOT t.attended ELSE t.attended END"
            con.execute(
                f'INSERT INTO "{table.name}" ({", ".join(tcols)}) '
                f"SELECT {', '.join(row.get(c, f't.{c}') for c in tcols)} "
                f'FROM "{table.name}" t JOIN chosen USING (checksum)',
                (tag,),
            )
        con.execute(
            f"UPDATE \"{WORKBOOKS.name}\" SET status = 'superseded', superseded_by = ? || checksum "
            "WHERE checksum IN (SELECT checksum FROM chosen)",
            (tag,),
        )
        con.commit()
        return len(chosen)
    finally:
        con.close()


def postgres_copy(results: Path, name: str) -> ResultsStore:
    """A PostgreSQL store (database ``name``, created here) holding the SQLite store's rows."""
    import psycopg
    import sqlalchemy as sa

    from connectors.store._sql import _insert_columns

    with psycopg.connect(**_PG_ADMIN) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    store = ResultsStore(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    store.migrate()
    src = sqlite3.connect(results)
    try:
        with store.engine.begin() as conn:
            for table in [WORKBOOKS, *SUB.values()]:
                cols = [c.name for c in table.columns if c.name != "id"]
                df = pd.read_sql(f'SELECT {", ".join(cols)} FROM "{table.name}" ORDER BY rowid', src)
                _insert_columns(conn, table, {c: df[c] for c in cols}, len(df))
            conn.execute(sa.text("ANALYZE"))
    finally:
        src.close()
    return store


_PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres", "autocommit": True}


def timed(store: ResultsStore, period: str, cache: Path | None):
    wall, cpu = time.perf_counter(), time.process_time()
    subs = store.submissions(period, cache_dir=cache)
    return subs, time.perf_counter() - wall, time.process_time() - cpu


def check(subs, reference) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(subs, name), getattr(reference, name))


def summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "runs": [round(v, 2) for v in values],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/tmp/demo100k"))
    ap.add_argument("--work", type=Path, default=Path("/work/tmp/readback100k"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--share", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    ap.add_argument("--postgres", action="store_true", help="the store copied into PostgreSQL")
    args = ap.parse_args()
    period = json.loads((args.data / "demo.json").read_text())["period"]
    base = prepare(args.data, args.work, period)
    if args.postgres:
        return main_postgres(args, base, period)
    # The corrections change the store: measure on a copy, the prepared store stays as it is.
    results = args.work / "measured.sqlite"
    shutil.copyfile(base, results)
    cache = args.work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    store = ResultsStore(f"sqlite:///{results}")
    rows = {}
    times: dict[str, dict[str, list[float]]] = {}

    def record(mode: str, wall: float, cpu: float) -> None:
        times.setdefault(mode, {"wall": [], "cpu": []})
        times[mode]["wall"].append(wall)
        times[mode]["cpu"].append(cpu)
        print(f"{mode:9s} wall {wall:6.2f} s  cpu {cpu:6.2f} s", flush=True)

    for rep in range(args.reps):
        reference, wall, cpu = timed(store, period, None)
        record("database", wall, cpu)
        rows = {name: len(getattr(reference, name)) for name in TABLES}
        shutil.rmtree(cache, ignore_errors=True)
        subs, wall, cpu = timed(store, period, cache)
        record("cold", wall, cpu)
        check(subs, reference)
        subs, wall, cpu = timed(store, period, cache)
        record("warm", wall, cpu)
        check(subs, reference)
        changed = correct(results, period, args.share, f"fix{rep}-")
        subs, wall, cpu = timed(store, period, cache)
        record("changed", wall, cpu)
        reference, _, _ = timed(store, period, None)
        check(subs, reference)
        print(f"  ({changed} workbooks of {period} corrected; frames equal)", flush=True)
    store.dispose()
    size = sum(p.stat().st_size for p in cache.rglob("*.arrow"))
    report = {
        "period": period,
        "rows": rows,
        "cache_bytes": size,
        "reps": args.reps,
        "seconds": {mode: {k: summary(v) for k, v in t.items()} for mode, t in times.items()},
    }
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


def main_postgres(args: argparse.Namespace, base: Path, period: str) -> None:
    import os

    import psycopg

    name = f"dvsync_readback_{os.getpid()}"
    cache = args.work / "cache-pg"
    times: dict[str, dict[str, list[float]]] = {}
    try:
        store = postgres_copy(base, name)
        for _ in range(args.reps):
            reference = None
            for mode in ("database", "cold", "warm"):
                if mode == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                subs, wall, cpu = timed(store, period, None if mode == "database" else cache)
                reference = reference if reference is not None else subs
                check(subs, reference)
                times.setdefault(mode, {"wall": [], "cpu": []})
                times[mode]["wall"].append(wall)
                times[mode]["cpu"].append(cpu)
                print(f"{mode:9s} wall {wall:6.2f} s  cpu {cpu:6.2f} s (frames equal)", flush=True)
        store.dispose()
    finally:
        with psycopg.connect(**_PG_ADMIN) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report = {
        "period": period,
        "backend": "postgresql",
        "reps": args.reps,
        "seconds": {mode: {k: summary(v) for k, v in t.items()} for mode, t in times.items()},
    }
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
