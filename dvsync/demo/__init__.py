"""`dvsync demo`: a synthetic central database and cell workbooks with known, planted anomalies.

``generate(members, out)`` writes into ``out``:
- ``central.sqlite``: the 8 tables of contract §1 (dates ISO text, ``active`` 0/1);
- ``submissions/<cell>_<YYYY-MM>.xlsx``: one workbook per submitting cell for the period (every
  sheet of contract §2), plus earlier periods of the same year for cells with planted absences;
- ``expected_findings.csv``: every finding docs/rules.md implies for the data (planted and derived),
  with a ``note``; the rest of the population is clean;
- ``near_misses.csv``: cases built to look like a finding that must NOT be reported;
- with ``faults`` (default): input faults that change no finding (dvsync.demo.faults), and
  ``expected_quarantine.csv`` (source, sheet, row, rule_contains, fault: where the workbook reader
  quarantines each; file-level faults have rule ``file`` and no sheet or row) and
  ``expected_normalised.csv`` (source, sheet, row, column, fault, member_code: cosmetic faults the
  reader normalises without quarantining);
- ``demo.json``: as_of, period, seed, counts, generator version.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.contract import CENTRAL_TABLES

GENERATOR_VERSION = "1.2"
DEFAULT_AS_OF = date(2026, 11, 16)
_INT_COLUMNS = {"active", "year", "years"}


def default_period(as_of: date) -> str:
    """The month before as_of (cells send a month's workbook after it ends)."""
    first = date(as_of.year, as_of.month, 1)
    prev = np.datetime64(first, "M") - 1
    return str(prev)


def write_sqlite(path: Path, tables: dict[str, pd.DataFrame], chunk: int = 500_000) -> dict[str, int]:
    """Plain tables with the contract's names; executemany in chunks (fast, little memory)."""
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    counts = {}
    try:
        for name, columns in CENTRAL_TABLES.items():
            df = tables[name]
            decl = ", ".join(f'"{c}" {"INTEGER" if c in _INT_COLUMNS else "TEXT"}' for c in columns)
            con.execute(f'CREATE TABLE "{name}" ({decl})')
            sql = f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})'
            for start in range(0, len(df), chunk):
                part = df.iloc[start : start + chunk]
                cols = []
                for c in columns:
                    s = part[c]
                    if c in _INT_COLUMNS:
                        cols.append([None if pd.isna(v) else int(v) for v in s.tolist()])
                    else:
                        cols.append(s.astype(object).where(s.notna(), None).tolist())
                con.executemany(sql, zip(*cols, strict=True))
            counts[name] = len(df)
        con.commit()
    finally:
        con.close()
    return counts


def generate(
    members: int,
    out: Path,
    seed: int = 0,
    as_of: date = DEFAULT_AS_OF,
    period: str | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    engine: str = "fast",
    faults: bool = True,
) -> dict:
    """Write the demo data set of about ``members`` member records into ``out``; returns a summary.

    ``engine`` writes the workbooks: "fast" (plain SpreadsheetML, default) or "xlsxwriter" (same
    content, ~3x slower because of its fixed per-file cost). ``faults`` plants input faults that
    the reader quarantines or normalises, none changing a finding (dvsync.demo.faults); the central
    database and expected findings are the same either way.
    """
    from dvsync.demo import faults as input_faults
    from dvsync.demo.generator import Demo
    from dvsync.demo.submissions import build_layout
    from dvsync.demo.workbooks import write_all

    say = progress or (lambda _msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    as_of = pd.Timestamp(as_of).date()
    period = period or default_period(as_of)
    timings: dict[str, float] = {}
    cpu0 = time.process_time()

    t0 = time.perf_counter()
    demo = Demo(members, seed, as_of, period)
    demo.build()
    tables = demo.central_tables()
    timings["central_build"] = time.perf_counter() - t0
    timings["central_build_cpu"] = time.process_time() - cpu0
    say(f"central tables built: {len(tables['members'])} members ({timings['central_build']:.1f}s)")
    t1 = time.perf_counter()
    counts = write_sqlite(out / "central.sqlite", tables)
    timings["central_write"] = time.perf_counter() - t1
    timings["central_write_cpu"] = time.process_time() - cpu0 - timings["central_build_cpu"]
    say(f"central.sqlite written ({timings['central_write']:.1f}s)")
    del tables

    t2 = time.perf_counter()
    sub_dir = out / "submissions"
    if sub_dir.exists():
        for f in sub_dir.glob("*.xlsx"):
            f.unlink()
    layout = build_layout(demo, str(sub_dir), faults=faults)
    timings["workbooks_layout"] = time.perf_counter() - t2
    n_files = write_all(layout, workers, engine)
    timings["workbooks_write"] = time.perf_counter() - t2 - timings["workbooks_layout"]
    # CPU seconds of the pool's workers (wall time is what a loaded machine distorts).
    timings["workbooks_write_cpu_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    say(f"{n_files} workbooks written ({timings['workbooks_write']:.1f}s)")
    for name in ("expected_quarantine.csv", "expected_normalised.csv"):
        (out / name).unlink(missing_ok=True)
    fault_counts: dict[str, int] = {}
    if faults:
        records = layout.faults + input_faults.write_files(sub_dir)
        eq, en = input_faults.frames(records)
        eq.to_csv(out / "expected_quarantine.csv", index=False, encoding="utf-8")
        en.to_csv(out / "expected_normalised.csv", index=False, encoding="utf-8")
        fault_counts = {
            k: int(v) for k, v in pd.concat([eq["fault"], en["fault"]]).value_counts().sort_index().items()
        }

    expected = demo.expected_frame()
    expected.to_csv(out / "expected_findings.csv", index=False, encoding="utf-8")
    demo.near_frame().to_csv(out / "near_misses.csv", index=False, encoding="utf-8")
    summary = {
        "generator_version": GENERATOR_VERSION,
        "as_of": as_of.isoformat(),
        "period": period,
        "seed": seed,
        "members": int(counts["members"]),
        "cells": int(len(demo.submitting) + len(demo.silent)),
        "cells_submitting": int(len(demo.submitting)),
        "workbooks": int(n_files),
        "rows": counts,
        "expected_findings": int(len(expected)),
        "expected_per_list": {
            k: int(v) for k, v in expected["list_code"].value_counts().sort_index().items()
        },
        "near_misses": int(len(demo.near)),
        "input_faults": fault_counts,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    (out / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


__all__ = ["GENERATOR_VERSION", "generate", "default_period"]
