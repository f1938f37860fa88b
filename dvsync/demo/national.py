"""A national data set, province by province (``generate`` with ``provinces``): each province
built, appended to central.sqlite, its workbooks written, and dropped before the next, so that
memory holds one province, never the country."""

from __future__ import annotations

import gc
import json
import resource
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from dvsync.demo import faults as input_faults
from dvsync.demo import names
from dvsync.demo.central import write_sqlite
from dvsync.demo.dataset import GENERATOR_VERSION, default_period
from dvsync.demo.generator import Demo, Region
from dvsync.demo.submissions import build_layout
from dvsync.demo.workbooks import write_all


def generate_national(
    members: int,
    out: Path,
    seed: int,
    as_of: date,
    period: str | None,
    workers: int | None,
    progress: Callable[[str], None] | None,
    engine: str,
    faults: bool,
    provinces: int,
) -> dict:
    """generate() one province at a time: build, append, write its workbooks, drop it."""
    say = progress or (lambda _msg: None)
    out.mkdir(parents=True, exist_ok=True)
    as_of = pd.Timestamp(as_of).date()
    period = period or default_period(as_of)
    chosen = names.PROVINCES_2025[: max(1, min(int(provinces), len(names.PROVINCES_2025)))]
    weights = np.array([w for *_x, w in chosen])
    share = np.floor(members * weights / weights.sum()).astype(np.int64)
    share[np.argmax(weights)] += members - int(share.sum())
    sub_dir = out / "submissions"
    if sub_dir.exists():
        for f in sub_dir.glob("*.xlsx"):
            f.unlink()
    timings = {"central_build": 0.0, "central_write": 0.0, "workbooks_layout": 0.0, "workbooks_write": 0.0}
    cpu0 = time.process_time()
    counts: dict[str, int] = {}
    expected, near, fault_records = [], [], []
    cells = submitting = n_files = 0
    peak_rss = 0
    per_province = []
    for i, ((code, name, cccd, _w), n) in enumerate(zip(chosen, share.tolist(), strict=True)):
        region = Region(
            code=code,
            name=name,
            cccd=tuple(cccd),
            slot=(i, len(names.PROVINCES_2025)),
            out_of_scope=tuple(names.NATIONAL_OUT_OF_SCOPE),
        )
        t0 = time.perf_counter()
        demo = Demo(int(n), seed * 100 + i, as_of, period, region=region)
        demo.build()
        tables = demo.central_tables()
        t1 = time.perf_counter()
        for t, k in write_sqlite(out / "central.sqlite", tables, append=i > 0).items():
            counts[t] = counts.get(t, 0) + k
        del tables
        t2 = time.perf_counter()
        layout = build_layout(demo, str(sub_dir), faults=faults)
        t3 = time.perf_counter()
        written = write_all(layout, workers, engine)
        t4 = time.perf_counter()
        fault_records += layout.faults
        expected.append(demo.expected_frame())
        near.append(demo.near_frame())
        cells += len(demo.submitting) + len(demo.silent)
        submitting += len(demo.submitting)
        n_files += written
        timings["central_build"] += t1 - t0
        timings["central_write"] += t2 - t1
        timings["workbooks_layout"] += t3 - t2
        timings["workbooks_write"] += t4 - t3
        per_province.append({"code": code, "members": int(n), "workbooks": int(written)})
        del demo, layout
        gc.collect()
        peak_rss = max(peak_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        say(f"province {code} ({i + 1}/{len(chosen)}): {n:,} members, {written:,} workbooks ({t4 - t0:.1f}s)")
    timings["cpu_self"] = time.process_time() - cpu0
    timings["workbooks_write_cpu_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    for name_ in ("expected_quarantine.csv", "expected_normalised.csv"):
        (out / name_).unlink(missing_ok=True)
    fault_counts: dict[str, int] = {}
    if faults:
        records = fault_records + input_faults.write_files(sub_dir)
        n_files += len(input_faults.FILE_FAULTS)
        eq, en = input_faults.frames(records)
        eq.to_csv(out / "expected_quarantine.csv", index=False, encoding="utf-8")
        en.to_csv(out / "expected_normalised.csv", index=False, encoding="utf-8")
        fault_counts = {
            k: int(v) for k, v in pd.concat([eq["fault"], en["fault"]]).value_counts().sort_index().items()
        }
    exp = pd.concat(expected, ignore_index=True)
    exp.to_csv(out / "expected_findings.csv", index=False, encoding="utf-8")
    pd.concat(near, ignore_index=True).to_csv(out / "near_misses.csv", index=False, encoding="utf-8")
    summary = {
        "generator_version": GENERATOR_VERSION,
        "as_of": as_of.isoformat(),
        "period": period,
        "seed": seed,
        "members": int(counts["members"]),
        "provinces": len(chosen),
        "per_province": per_province,
        "cells": int(cells),
        "cells_submitting": int(submitting),
        "workbooks": int(n_files),
        "rows": counts,
        "expected_findings": int(len(exp)),
        "expected_per_list": {k: int(v) for k, v in exp["list_code"].value_counts().sort_index().items()},
        "near_misses": int(sum(len(x) for x in near)),
        "input_faults": fault_counts,
        "peak_rss_mb": int(peak_rss),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    (out / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
