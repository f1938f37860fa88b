"""Extraction with partition routing, before and after the member lookup was built once per run.

    .venv/bin/python -m bench.route --data bench/data/demo-1000000-1 --partitions 4 --reps 3

Reads the central database as the night's ``extract central`` does (``read_central`` into a
``PartitionSpill``), with ``partition_members`` chosen to give ``--partitions`` partitions, twice per
repetition, alternating: ``per-chunk`` (the former ``route()``: ``pc.index_in`` hashes every member
code again for each chunk of each member table) and ``once`` (``MemberIndex`` built once, reused).
Reports wall and CPU seconds (median, min-max), the time inside ``route()`` and its calls, and
checks that both give the same partition files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def legacy_route(rows: pd.DataFrame, member_partition: pd.Series, column: str = "member_code") -> np.ndarray:
    """route() as it was before #19: one pc.index_in (a hash of every member code) per call."""
    from connectors.partitions import _arrow
    from schemas.normalize import clean_code

    if rows.empty or column not in rows.columns or member_partition.empty:
        return np.zeros(len(rows), dtype=np.int64)
    keys = _arrow(pd.Series(member_partition.index.astype("string"), copy=False))
    parts = member_partition.to_numpy(dtype=np.int64)

    def look(codes: pd.Series) -> np.ndarray:
        pos = pc.index_in(_arrow(codes), value_set=keys).to_numpy(zero_copy_only=False)
        pos = np.nan_to_num(pos.astype("float64"), nan=-1).astype(np.int64)
        return np.where(pos >= 0, parts[np.clip(pos, 0, None)], -1)

    codes = rows[column].astype("string")
    where = look(codes)
    miss = where < 0
    if miss.any():
        where[miss] = look(clean_code(codes[miss]))
    return np.where(where < 0, 0, where)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.arrow")):
        t = pa.ipc.open_file(pa.memory_map(str(f))).read_all()
        h.update(str(f.relative_to(folder)).encode())
        h.update(pa.ipc.serialize_pandas(t.to_pandas()).to_pybytes() if t.num_rows else b"")
    return h.hexdigest()


def extract_once(source: str, mode: str, target: int, chunk: int, work: Path) -> dict:
    import connectors.spill as spill_mod
    from connectors import partitions
    from connectors.central import read_central

    timer = {"seconds": 0.0, "calls": 0}
    real_route, real_index = spill_mod.route, spill_mod.MemberIndex
    base = legacy_route if mode == "per-chunk" else partitions.route

    def timed(rows, mp, column="member_code"):
        t = time.perf_counter()
        try:
            return base(rows, mp, column)
        finally:
            timer["seconds"] += time.perf_counter() - t
            timer["calls"] += 1

    spill_mod.route = timed
    if mode == "per-chunk":
        spill_mod.MemberIndex = lambda member_part: member_part  # the plain map, as before
    try:
        sink = spill_mod.PartitionSpill(work, target)
        wall, cpu = time.perf_counter(), time.process_time()
        read_central(source, chunk_size=chunk, sink=sink)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        spill_mod.route, spill_mod.MemberIndex = real_route, real_index
    return {"wall": wall, "cpu": cpu, "route": timer["seconds"], "calls": timer["calls"], "parts": sink.n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a demo data set (central.sqlite, demo.json)")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--chunk-size", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--batch-rows",
        type=int,
        help="rows per SQLite batch (the reader's default: 1,000,000; smaller batches give a small "
        "data set the chunk count of a big one)",
    )
    ap.add_argument("--out", help="write the result as JSON here")
    args = ap.parse_args(argv)
    if args.batch_rows:
        from connectors.central import sqlite_arrow

        sqlite_arrow._SqliteArrowReader.BATCH_ROWS = args.batch_rows
    data = Path(args.data)
    members = json.loads((data / "demo.json").read_text())["members"]
    target = -(-members // args.partitions)
    source = f"sqlite:///{data / 'central.sqlite'}"
    runs: dict[str, list[dict]] = {"per-chunk": [], "once": []}
    digests: dict[str, str] = {}
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="bench-route-") as tmp:
        for rep in range(args.reps):
            for mode in ("per-chunk", "once") if rep % 2 == 0 else ("once", "per-chunk"):
                work = Path(tmp) / f"{mode}-{rep}"
                r = extract_once(source, mode, target, args.chunk_size, work)
                runs[mode].append(r)
                if rep == 0:
                    digests[mode] = _digest(work)
                print(mode, {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}, flush=True)
    load1 = Path("/proc/loadavg").read_text().split()[:3]

    def stats(mode: str, key: str) -> dict:
        v = [r[key] for r in runs[mode]]
        return {"median": round(statistics.median(v), 2), "min": round(min(v), 2), "max": round(max(v), 2)}

    out = {
        "members": members,
        "partitions": runs["once"][0]["parts"],
        "chunk_size": args.chunk_size,
        "sqlite_batch_rows": args.batch_rows or "reader default",
        "command": "python -m bench.route " + " ".join(argv if argv is not None else sys.argv[1:]),
        "reps": args.reps,
        "route_calls": runs["once"][0]["calls"],
        "same_partition_files": digests["per-chunk"] == digests["once"],
        "loadavg_before": load0,
        "loadavg_after": load1,
        **{mode: {k: stats(mode, k) for k in ("wall", "cpu", "route")} for mode in ("per-chunk", "once")},
    }
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0 if out["same_partition_files"] else 1


if __name__ == "__main__":
    sys.exit(main())
