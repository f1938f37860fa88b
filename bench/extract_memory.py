"""Peak memory of ``read_central`` as the member count and the number of chunks grow.

    .venv/bin/python -m bench.extract_memory --members 100000 1000000 --chunks 10000 100000 1000000

For each size it synthesises a central database (members with Vietnamese names, plus a few
small tables) into SQLite, copies it into PostgreSQL (an isolated schema, dropped at the end) and
extracts it in a fresh process per (source, chunk size), measuring that process's peak RSS
(ru_maxrss) against its RSS just before the extraction. ``--naive`` adds a one-shot
``pd.read_sql`` of every table for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_ODBC = "odbc:DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=test;UID=postgres"

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Ngọc", "Minh", "Quốc", "Thuỳ", "Bảo"]
GIVEN = [
    "Hoà",
    "Dương",
    "Hưởng",
    "Tuyết",
    "Việt",
    "Châu",
    "Sáu",
    "Lâm",
    "Phúc",
    "Khoa",
    "Hằng",
    "Nhung",
    "Tùng",
]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def synthesise(path: Path, members: int, seed: int = 0) -> None:
    """A central.sqlite with ``members`` members (contract columns) and small side tables."""
    from schemas.contract import CENTRAL_TABLES

    rng = np.random.default_rng(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    for table, cols in CENTRAL_TABLES.items():
        decl = ", ".join(f'"{c}" {"INTEGER" if c in ("active", "year", "years") else "TEXT"}' for c in cols)
        con.execute(f'CREATE TABLE "{table}" ({decl})')
    cells = max(1, members // 30)
    con.executemany(
        "INSERT INTO organizations VALUES (?, ?, ?, ?, ?)",
        [("T01", "Tỉnh uỷ", "province", None, 1)]
        + [(f"CB{i:05d}", f"Chi bộ số {i} – Phường Bến Nghé", "cell", "T01", 1) for i in range(cells)],
    )
    block = 100_000
    for start in range(0, members, block):
        n = min(block, members - start)
        idx = np.arange(start, start + n)
        born = rng.integers(1940, 2005, n)
        rows = zip(
            (f"DV{i:09d}" for i in idx),
            (f"{SURNAMES[a]} {MIDDLE[b]} {GIVEN[c]}" for a, b, c in rng.integers(0, [14, 10, 13], (n, 3))),
            np.where(rng.random(n) < 0.5, "Nam", "Nữ"),
            (
                f"{y}-{m:02d}-{d:02d}"
                for y, m, d in zip(born, rng.integers(1, 13, n), rng.integers(1, 29, n), strict=True)
            ),
            (
                f"0{p:02d}{y % 100:02d}{r:07d}"[:12].rjust(12, "0")
                for p, y, r in zip(rng.integers(1, 97, n), born, rng.integers(0, 10**7, n), strict=True)
            ),
            (f"HS-{i:09d}" for i in idx),
            (f"TH-{i:09d}" for i in idx),
            (f"{y + 25}-05-01" for y in born),
            (f"{y + 25}-05-19" for y in born),
            (f"{y + 26}-05-19" for y in born),
            (f"CB{c:05d}" for c in rng.integers(0, cells, n)),
            np.where(rng.random(n) < 0.9, "active", "exempt"),
            (f"{y + 25}-05-19" for y in born),
            ("2026-01-02" for _ in idx),
            strict=True,
        )
        con.executemany(f"INSERT INTO members VALUES ({', '.join('?' * 14)})", rows)
    con.executemany(
        "INSERT INTO ratings VALUES (?, ?, ?)",
        [(f"DV{i:09d}", 2025, "HTTNV") for i in range(0, members, 10)],
    )
    con.commit()
    con.close()


def child(source: str, mapping: str | None, chunk_size: int, naive: bool) -> dict:
    import pandas as pd

    from connectors.central import make_engine, read_central

    before = _rss_kb()
    start = time.perf_counter()
    if naive:
        import sqlalchemy as sa

        from schemas.contract import CENTRAL_TABLES

        engine = make_engine(source)
        schema = Path(mapping).read_text().split(":", 1)[1].strip() if mapping else None
        with engine.connect() as conn:
            prefix = f'"{schema}".' if schema else ""
            frames = {t: pd.read_sql(sa.text(f'SELECT * FROM {prefix}"{t}"'), conn) for t in CENTRAL_TABLES}
    else:
        frames = read_central(source, mapping=mapping, chunk_size=chunk_size, retries=0)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = sum(int(df.memory_usage(deep=True).sum()) for df in frames.values())
    return {
        "rows": len(frames["members"]),
        "seconds": round(seconds, 1),
        "rss_before_mb": before // 1024,
        "peak_mb": peak // 1024,
        "extraction_mb": (peak - before) // 1024,
        "frames_mb": data // 2**20,
    }


def run_child(source: str, mapping: Path | None, chunk: int, naive: bool = False) -> dict:
    cmd = [sys.executable, "-m", "bench.extract_memory", "--child", source, "--chunk", str(chunk)]
    if mapping:
        cmd += ["--mapping", str(mapping)]
    if naive:
        cmd.append("--naive")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--sources", nargs="+", default=["sqlite", "psycopg", "odbc-postgresql"])
    ap.add_argument("--naive", action="store_true", help="also one-shot pd.read_sql, for comparison")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--chunk", type=int, default=100_000, help=argparse.SUPPRESS)
    ap.add_argument("--mapping", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.mapping, args.chunk, args.naive)))
        return 0

    from dvsync.demo.loading import copy_tables, drop_schema

    results = []
    with tempfile.TemporaryDirectory(prefix="dvsync-bench-") as tmp:
        for n in args.members:
            db = Path(tmp) / f"central-{n}.sqlite"
            t0 = time.perf_counter()
            synthesise(db, n)
            print(f"# {n:,} members synthesised in {time.perf_counter() - t0:.1f} s", flush=True)
            schema = f"dvsync_bench_{uuid.uuid4().hex[:8]}"
            mapping = Path(tmp) / f"{schema}.yaml"
            mapping.write_text(f"schema: {schema}\n")
            pg = any(s != "sqlite" for s in args.sources)
            try:
                if pg:
                    t0 = time.perf_counter()
                    copy_tables(f"sqlite:///{db}", PG_URL, schema=schema)
                    print(f"# copied into PostgreSQL in {time.perf_counter() - t0:.1f} s", flush=True)
                urls = {
                    "sqlite": (f"sqlite:///{db}", None),
                    "psycopg": (PG_URL, mapping),
                    "odbc-postgresql": (PG_ODBC, mapping),
                }
                for name in args.sources:
                    src, mp = urls[name]
                    for chunk in args.chunks:
                        r = {
                            "members": n,
                            "source": name,
                            "chunk_size": chunk,
                            "chunks": -(-n // chunk),
                            **run_child(src, mp, chunk),
                        }
                        results.append(r)
                        print(json.dumps(r), flush=True)
                    if args.naive and not name.startswith("odbc"):
                        r = {
                            "members": n,
                            "source": name,
                            "chunk_size": "pd.read_sql",
                            "chunks": 1,
                            **run_child(src, mp, 0, naive=True),
                        }
                        results.append(r)
                        print(json.dumps(r), flush=True)
            finally:
                if pg:
                    drop_schema(PG_URL, schema)
    print("\n| members | source | chunk size | chunks | peak RSS MB | extraction MB | frames MB | s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['members']:,} | {r['source']} | {r['chunk_size']} | {r['chunks']} | {r['peak_mb']} | "
            f"{r['extraction_mb']} | {r['frames_mb']} | {r['seconds']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
