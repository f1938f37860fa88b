"""One nightly run in a fresh process, as a deployment's worker starts one for each flow run.

    python -m bench.night --central URL --submissions DIR --out DIR --as-of YYYY-MM-DD
        --period YYYY-MM --result night.json

Runs ``flows.nightly.nightly_reconciliation`` (what ``dvsync nightly`` runs) against the Prefect API
in ``PREFECT_API_URL``, samples the memory of this process's tree per stage (bench/memory.py), and
writes what the benchmark reports to ``--result``. The caller measures the process's own wall and
CPU time (interpreter start and imports included, as a deployment pays them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--central", "--submissions", "--out", "--as-of", "--period", "--result"):
        ap.add_argument(name, required=True)
    ap.add_argument("--mapping")
    args = ap.parse_args(argv)

    from bench.memory import StageMemory
    from schemas.settings import prefect_defaults

    prefect_defaults()
    from flows import tasks
    from flows.nightly import nightly_reconciliation

    start = time.perf_counter()
    with StageMemory(lambda: tasks.CURRENT_STAGE[-1] if tasks.CURRENT_STAGE else None) as mem:
        summary = nightly_reconciliation(
            central=args.central,
            submissions=args.submissions,
            out=args.out,
            as_of=args.as_of,
            period=args.period,
            mapping=args.mapping,
        )
    wall = time.perf_counter() - start
    stages = summary["durations_seconds"]
    result = {
        "flow_seconds": round(wall, 2),
        "stage_seconds": stages,
        "prefect_overhead_seconds": round(wall - sum(v for k, v in stages.items() if k != "total"), 2),
        "peak_pss_mb": round(mem.peak_total / 2**20),  # PSS of the tree (see bench/memory.py)
        "peak_rss_sum_mb": round(mem.peak_rss / 2**20),
        "stage_peak_pss_mb": {k: round(v / 2**20) for k, v in sorted(mem.peaks.items())},
        "files": summary["files"],
        "rows": summary["rows"],
        "findings": summary["findings"],
        "workbooks_accepted": summary.get("workbooks_accepted"),
    }
    Path(args.result).write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
