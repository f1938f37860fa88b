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

A national data set (``provinces``; by default from ``NATIONAL_FROM`` members) is built province
by province: the 34 province-level committees after the 2025 merger (names.PROVINCES_2025: the
province's administrative code as M1 of its organisation codes, its merged provinces'
birth-registration codes for the CCCD), members shared out by the provinces' relative sizes; each
province is an independent tree built, written (SQLite rows appended, workbooks) and dropped before
the next, so memory holds one province (the largest, Hồ Chí Minh City, about 11% of the members),
never the country. Each province plants its own findings (per_code of its members); member codes,
ID serials and unknown people's IDs are drawn from disjoint ranges per province, so no planted
finding crosses provinces and none appears by accident. Below ``NATIONAL_FROM`` the data set is the
single-province one of generator 1.2, byte for byte.

Modules: dataset (version, defaults), generator (``Demo``, built from base, expected, background,
the plant_* modules and central), central (the central tables and central.sqlite), national (the
province-by-province build), submissions and workbooks (the cells' workbooks), faults (input
faults), corrections (next-night corrections), names, population, calendar.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from dvsync.demo.dataset import DEFAULT_AS_OF, GENERATOR_VERSION, NATIONAL_FROM, default_period


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
    provinces: int | None = None,
) -> dict:
    """Write the demo data set of about ``members`` member records into ``out``; returns a summary.

    ``engine`` writes the workbooks: "fast" (plain SpreadsheetML, default) or "xlsxwriter" (same
    content, ~3x slower because of its fixed per-file cost). ``faults`` plants input faults that
    the reader quarantines or normalises, none changing a finding (dvsync.demo.faults); the central
    database and expected findings are the same either way. ``provinces``: build a national data
    set of that many provinces (1-34, names.PROVINCES_2025 in order), one at a time; default: 34
    from ``NATIONAL_FROM`` members, else the single demo province.
    """
    if provinces is None and members >= NATIONAL_FROM:
        provinces = 34
    if provinces:
        from dvsync.demo.national import generate_national

        return generate_national(
            members, Path(out), seed, as_of, period, workers, progress, engine, faults, provinces
        )
    from dvsync.demo import faults as input_faults
    from dvsync.demo.central import write_sqlite
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


__all__ = ["DEFAULT_AS_OF", "GENERATOR_VERSION", "NATIONAL_FROM", "generate", "default_period"]
