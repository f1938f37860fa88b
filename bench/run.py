"""The benchmark: generate data at a scale, run the nightly flow twice (first and steady night),
and measure the peers side by side on the same data.

    python -m bench.run --members 100000            # report in bench/results/100000.{json,md}

Stages are timed by the flow itself (summary.json "durations_seconds"); peak memory per stage is
sampled from /proc for this process and its worker processes (the Prefect API server excluded).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

from bench.memory import StageMemory

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except OSError:
        mem = 0
    import pandera
    import prefect

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "pandera": pandera.__version__,
        "prefect": prefect.__version__,
        "os": platform.platform(),
    }


@contextlib.contextmanager
def prefect_server(ephemeral: bool):
    """The nights run against a running local Prefect API server, as a deployment's runs do (the
    server is up before the night starts and is not timed). ``ephemeral``: let each flow run start
    its own temporary server instead, as a bare ``dvsync nightly`` does (10-17 s more per run,
    stack-notes.md). An API URL already set is used as it is."""
    if ephemeral or os.environ.get("PREFECT_API_URL"):
        yield os.environ.get("PREFECT_API_URL") or "ephemeral"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as home:
        log = Path(home) / "server.log"
        env = {**os.environ, "PREFECT_HOME": home}  # the server's own database, thrown away after
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "prefect"), "server", "start"]
                + ["--host", "127.0.0.1", "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            deadline = time.time() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError(
                            "Prefect server did not start: " + log.read_text()[-2000:]
                        ) from None
                    time.sleep(1)
            os.environ["PREFECT_API_URL"] = url
            yield url
        finally:
            with contextlib.suppress(Exception):  # send the runs' last logs before the server goes
                from prefect.logging.handlers import APILogHandler

                APILogHandler.flush()
            os.environ.pop("PREFECT_API_URL", None)
            proc.terminate()
            proc.wait(30)


def ensure_data(members: int, seed: int, workdir: Path) -> tuple[Path, dict]:
    from dvsync.demo import generate

    data = workdir / f"demo-{members}-{seed}"
    if not (data / "demo.json").exists():
        shutil.rmtree(data, ignore_errors=True)
        start = time.perf_counter()
        info = generate(members=members, out=data, seed=seed, progress=lambda m: print(" ", m, flush=True))
        info["seconds"] = round(time.perf_counter() - start, 1)
        (data / "generate.json").write_text(
            json.dumps(info, ensure_ascii=False, default=str), encoding="utf-8"
        )
    return data, json.loads((data / "demo.json").read_text())


def run_night(data: Path, meta: dict, out: Path) -> dict:
    """One nightly run in this process, with per-stage peak memory."""
    from flows import tasks
    from flows.nightly import nightly_reconciliation

    start = time.perf_counter()
    with StageMemory(lambda: tasks.CURRENT_STAGE[-1] if tasks.CURRENT_STAGE else None) as mem:
        summary = nightly_reconciliation(
            central=f"sqlite:///{data / 'central.sqlite'}",
            submissions=str(data / "submissions"),
            out=str(out),
            as_of=meta["as_of"],
            period=meta["period"],
        )
    wall = time.perf_counter() - start
    stages = summary["durations_seconds"]
    return {
        "wall_seconds": round(wall, 2),
        "stage_seconds": stages,
        "prefect_overhead_seconds": round(wall - sum(v for k, v in stages.items() if k != "total"), 2),
        "peak_rss_mb": round(mem.peak_total / 2**20),  # PSS of the tree (see bench/memory.py)
        "peak_rss_sum_mb": round(mem.peak_rss / 2**20),
        "stage_peak_rss_mb": {k: round(v / 2**20) for k, v in sorted(mem.peaks.items())},
        "files": summary["files"],
        "central_rows": sum(c["read"] for k, c in summary["rows"].items() if k.startswith("central.")),
        "throughput": _throughput(summary),
        "findings": summary["findings"],
        "workbooks_accepted": summary["workbooks_accepted"],
    }


def _throughput(summary: dict) -> dict:
    """Rows and workbooks per second of the stages that move them."""
    sec = summary["durations_seconds"]
    central = sum(c["read"] for k, c in summary["rows"].items() if k.startswith("central."))
    books = summary["files"].get("files_new", 0) + summary["files"].get("files_rejected", 0)
    stored = summary["files"].get("store", {}).get("rows", 0)

    def per(n: float, stage: str) -> float | None:
        return round(n / sec[stage]) if sec.get(stage) else None

    return {
        "extract_central_rows_per_s": per(central, "extract central"),
        "validate_central_rows_per_s": per(central, "validate central"),
        "read_workbooks_per_s": per(books, "read workbooks"),
        "store_rows_per_s": per(stored, "store submissions"),
        "reconcile_members_per_s": per(
            summary["rows"].get("central.members", {}).get("read", 0), "reconcile"
        ),
    }


def touch_workbooks(data: Path, meta: dict, share: float, seed: int) -> int:
    """A steady night: `share` of the cells send a corrected workbook for the period (new Ngày lập)."""
    import random

    from openpyxl import load_workbook

    files = sorted((data / "submissions").glob(f"*_{meta['period']}.xlsx"))
    chosen = random.Random(seed).sample(files, max(1, int(len(files) * share)))
    stamp = (pd.Timestamp(meta["as_of"]) - pd.Timedelta(days=1)).strftime("%d/%m/%Y")
    for path in chosen:
        wb = load_workbook(path)
        ws = wb["ThongTin"]
        for row in ws.iter_rows():
            if row[0].value and str(row[0].value).strip().lower().startswith("ngày lập"):
                row[1].value = stamp
        wb.save(path)
    return len(chosen)


# --- peers -------------------------------------------------------------------------------------
def _calamine_all(path: str) -> int:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(path)
        return sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)
    except Exception:  # noqa: BLE001 - the demo plants broken files; reading them is the cost
        return 0


def peer_floor(data: Path, meta: dict, workers: int) -> dict:
    """The floor: read every input with the fastest readers, nothing else (the central tables
    through the ADBC SQLite driver straight into Arrow, batch by batch, as text; the workbooks
    with python-calamine)."""
    from concurrent.futures import ProcessPoolExecutor

    from connectors.central.sqlite_arrow import _SqliteArrowReader
    from schemas.contract import CENTRAL_TABLES

    start = time.perf_counter()
    rows = 0
    reader = _SqliteArrowReader(str(data / "central.sqlite"))
    try:
        reader.begin_snapshot()
        for t, cols in CENTRAL_TABLES.items():
            rows += reader.read_arrow(f'SELECT * FROM "{t}"', cols).num_rows
    finally:
        reader.close()
    central = time.perf_counter() - start
    files = [str(p) for p in sorted((data / "submissions").glob("*.xlsx"))]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        cells = sum(pool.map(_calamine_all, files, chunksize=64))
    books = time.perf_counter() - start
    return {
        "central_seconds": round(central, 2),
        "central_rows": rows,
        "workbooks_seconds": round(books, 2),
        "workbooks": len(files),
        "workbook_rows": cells,
        "total_seconds": round(central + books, 2),
    }


READ_SAMPLE = 600  # workbooks both readers read in the side-by-side comparison


def _sample(data: Path, n: int = READ_SAMPLE) -> list[Path]:
    return sorted((data / "submissions").glob("*.xlsx"))[:n]


def peer_read_excel(data: Path, sample: int = READ_SAMPLE) -> dict:
    """pandas.read_excel with openpyxl, every sheet, IDs as text: throughput on a sample."""
    files = _sample(data, sample)
    start = time.perf_counter()
    for p in files:
        pd.read_excel(p, sheet_name=None, dtype=str, engine="openpyxl")
    seconds = time.perf_counter() - start
    return {
        "workbooks": len(files),
        "seconds": round(seconds, 2),
        "workbooks_per_second": round(len(files) / seconds, 1),
    }


def dvsync_read(data: Path, workers: int, sample: int = READ_SAMPLE) -> dict:
    """dvsync's own reading (parse and validate every sheet, as the night does, in its worker
    processes) of the same sample read_excel reads: the pool is started first, as the night
    starts it once for every batch."""
    from connectors.workbooks import _parse_all, close_worker_pool, worker_pool

    files = _sample(data, sample)
    try:
        if workers > 1:
            worker_pool(workers)
        start = time.perf_counter()
        results = _parse_all(files, [f.name for f in files], workers, whole_chunks=True)  # as the night
        seconds = time.perf_counter() - start
    finally:
        close_worker_pool()
    return {
        "workbooks": len(files),
        "processes": workers,
        "seconds": round(seconds, 2),
        "workbooks_per_second": round(len(files) / seconds, 1),
        "failed": sum(1 for r in results if r.error),
    }


def peer_pandera(data: Path, frames: dict[str, pd.DataFrame]) -> dict:
    """A plain Pandera validation of the same models (no normalisation, no quarantine split)."""
    from schemas import central as c
    from schemas import submission as s

    out = {}
    for name, model, df in [
        ("members", c.Members, frames["members_raw"]),
        ("roster", s.Roster, frames["roster"]),
    ]:
        start = time.perf_counter()
        try:
            model.validate(df.copy(), lazy=True)
            status = "valid"
        except Exception as exc:  # noqa: BLE001 - failures are part of the measurement
            status = type(exc).__name__
        out[name] = {"rows": len(df), "seconds": round(time.perf_counter() - start, 2), "result": status}
    return out


DATACOMPY_SCRIPT = r"""
import json, sys, time
import pandas as pd, datacompy
central = pd.read_parquet(sys.argv[1]); cells = pd.read_parquet(sys.argv[2])
start = time.perf_counter()
cmp = datacompy.Compare(central, cells, join_columns="member_code") if not hasattr(datacompy, "PandasCompare") \
    else datacompy.PandasCompare(central, cells, join_columns="member_code")
report = cmp.report()
print(json.dumps({"seconds": round(time.perf_counter() - start, 2), "datacompy": datacompy.__version__,
                  "pandas": pd.__version__, "rows": [len(central), len(cells)]}))
"""


def peer_datacompy(work: Path, central: pd.DataFrame, roster: pd.DataFrame) -> dict:
    venv = work / ".venv-datacompy"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "datacompy", "pandas<3.1", "pyarrow"], check=True
        )
    a, b = work / "dc_central.parquet", work / "dc_cells.parquet"
    central.to_parquet(a)
    roster.to_parquet(b)
    proc = subprocess.run([str(py), "-c", DATACOMPY_SCRIPT, str(a), str(b)], capture_output=True, text=True)
    if proc.returncode:
        return {"error": proc.stderr[-500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def roster_inputs(data: Path, out: Path, meta: dict) -> dict[str, pd.DataFrame]:
    from connectors.central import read_central
    from connectors.store import ResultsStore
    from schemas.central import validate_central

    raw = read_central(f"sqlite:///{data / 'central.sqlite'}")
    members_raw = raw["members"].copy()
    central, _, _ = validate_central(raw)
    subs = ResultsStore(f"sqlite:///{(out / 'results.sqlite').resolve()}").submissions(meta["period"])
    return {"central": central, "subs": subs, "members_raw": members_raw, "roster": subs.roster}


def dvsync_roster_seconds(frames: dict, meta: dict) -> float:
    """dvsync's roster reconciliation alone (the rules datacompy's comparison stands for)."""
    from rules import roster as ro
    from rules.common import period_rows, submitted_cells

    c, s = frames["central"], frames["subs"]
    start = time.perf_counter()
    roster = period_rows(s.roster, s.workbooks, meta["period"])
    sent = submitted_cells(s.workbooks, roster, meta["period"])
    match = ro.match_roster(c.members, roster)  # as tree_rules: one join shared by the rules
    ro.roster_missing_in_cell(c.members, roster, c.transfers, sent, meta["period"], match)
    ro.roster_not_in_central(c.members, roster, meta["period"], match)
    ro.roster_wrong_cell(c.members, roster, None, match)
    ro.roster_inactive_listed(c.members, roster, None, match)
    ro.roster_field_mismatch(c.members, roster, match)
    ro.duplicate_person(c.members, roster, match)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from dvsync.settings import prefect_defaults

    prefect_defaults()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--steady-share", type=float, default=0.05)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument(
        "--ephemeral-prefect",
        action="store_true",
        help="each night starts its own temporary Prefect server (as a bare `dvsync nightly`)",
    )
    args = ap.parse_args(argv)
    with prefect_server(args.ephemeral_prefect) as api:
        return _bench(args, api)


def _bench(args: argparse.Namespace, api: str) -> int:

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"[bench] data for {args.members:,} members", flush=True)
    data, meta = ensure_data(args.members, args.seed, work)
    run_dir = work / f"run-{args.members}-{args.seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    # The steady night modifies workbooks: run on a copy so the cached data stays pristine.
    shutil.copytree(data, run_dir / "data")
    data_run = run_dir / "data"
    out = run_dir / "out"

    report: dict = {
        "members": args.members,
        "seed": args.seed,
        "machine": machine(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "command": f"python -m bench.run --members {args.members}"
        + (" --ephemeral-prefect" if args.ephemeral_prefect else ""),
        "prefect_api": "ephemeral (a temporary server per run)"
        if api == "ephemeral"
        else "a running local Prefect server (started before the nights, not timed)",
        "generate": json.loads((data / "generate.json").read_text())
        if (data / "generate.json").exists()
        else None,
        "as_of": meta["as_of"],
        "period": meta["period"],
    }
    print("[bench] first night", flush=True)
    report["first_night"] = run_night(data_run, meta, out)
    changed = touch_workbooks(data_run, meta, args.steady_share, args.seed)
    print(f"[bench] steady night ({changed} corrected workbooks)", flush=True)
    report["steady_night"] = run_night(data_run, meta, out)
    report["steady_night"]["workbooks_changed"] = changed

    if not args.skip_peers:
        print("[bench] peers", flush=True)
        workers = int(os.environ.get("DVSYNC_WORKERS", str(min(4, os.cpu_count() or 1))))
        floor = peer_floor(data_run, meta, workers)
        frames = roster_inputs(data_run, out, meta)
        roster_s = dvsync_roster_seconds(frames, meta)
        cols = [
            "member_code",
            "full_name",
            "birth_date",
            "gender",
            "personal_id",
            "admission_date",
            "official_date",
        ]
        dc = peer_datacompy(work, frames["central"].members[cols], frames["roster"][cols])
        rex = peer_read_excel(data_run)
        own = dvsync_read(data_run, workers)
        pa_ = peer_pandera(data_run, frames)
        first = report["first_night"]
        read_s = first["stage_seconds"].get("read workbooks", 0)
        books = first["files"]["files_new"] + first["files"]["files_rejected"]
        report["peers"] = {
            "floor": floor,
            "steady_vs_floor": round(report["steady_night"]["wall_seconds"] / floor["total_seconds"], 2),
            "datacompy": dc,
            "dvsync_roster_seconds": round(roster_s, 2),
            "roster_vs_datacompy": round(roster_s / dc["seconds"], 3) if "seconds" in dc else None,
            "read_excel_openpyxl": rex,
            "dvsync_workbooks_per_second": round(books / read_s, 1) if read_s else None,
            "read_speedup_vs_read_excel": round((books / read_s) / rex["workbooks_per_second"], 1)
            if read_s
            else None,
            "dvsync_read_same_sample": own,
            "read_speedup_same_sample": round(own["workbooks_per_second"] / rex["workbooks_per_second"], 1),
            "pandera_plain": pa_,
        }
    dest = Path(args.results)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{args.members}.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
    )
    (dest / f"{args.members}.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


def markdown(r: dict) -> str:
    lines = [
        f"# Benchmark: {r['members']:,} members",
        "",
        f"Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores, {r['machine']['memory_mb']:,} MB; "
        f"Python {r['machine']['python']}, pandas {r['machine']['pandas']}, prefect {r['machine']['prefect']}.",
        f"Data: as_of {r['as_of']}, period {r['period']}. Commit {r.get('commit')}: `{r.get('command')}`.",
        f"Prefect API: {r.get('prefect_api', 'ephemeral')}.",
        "",
    ]
    if r.get("generate"):
        g = r["generate"]
        lines += [f"Generation: {g.get('seconds')} s in all; parts {g.get('timings_s')}", ""]
    lines += [
        "Peak memory: PSS of the process tree (workers' shared pages counted once), Prefect's API "
        "server excluded.",
        "",
        "| stage | first night s | steady night s | first peak MB | steady peak MB |",
        "|---|---|---|---|---|",
    ]
    f, s = r["first_night"], r["steady_night"]
    stages = [k for k in f["stage_seconds"] if k != "total"] + ["total"]
    for k in stages:
        lines.append(
            f"| {k} | {f['stage_seconds'].get(k)} | {s['stage_seconds'].get(k, '')} | "
            f"{f['stage_peak_rss_mb'].get(k, '')} | {s['stage_peak_rss_mb'].get(k, '')} |"
        )
    lines.append(
        f"| **wall (incl. Prefect)** | {f['wall_seconds']} | {s['wall_seconds']} | {f['peak_rss_mb']} | "
        f"{s['peak_rss_mb']} |"
    )
    lines += [
        "",
        f"RSS summed over the tree (forked workers' shared pages counted in each): first night "
        f"{f.get('peak_rss_sum_mb')} MB, steady night {s.get('peak_rss_sum_mb')} MB.",
        "",
        f"Workbooks: first night {f['files']}, steady night {s['files']}; findings {f['findings']}.",
    ]
    if "throughput" in f:
        lines += [
            "",
            f"Throughput ({f.get('central_rows', 0):,} central rows): "
            + "; ".join(
                f"{k.replace('_', ' ')}: first {v:,}, steady {s['throughput'].get(k) or 0:,}"
                for k, v in f["throughput"].items()
                if v
            ),
        ]
    if "peers" in r:
        p = r["peers"]
        lines += [
            "",
            "## Side by side",
            "",
            f"- floor (ADBC SQLite + python-calamine, {r['machine']['cores']} processes): "
            f"{p['floor']['total_seconds']} s (central {p['floor']['central_seconds']} s, workbooks "
            f"{p['floor']['workbooks_seconds']} s); "
            f"steady night / floor = {p['steady_vs_floor']}",
            f"- roster comparison: dvsync {p['dvsync_roster_seconds']} s vs datacompy {p['datacompy'].get('seconds')} s "
            f"(ratio {p['roster_vs_datacompy']})",
            f"- workbook reading, the same {p['read_excel_openpyxl']['workbooks']} workbooks: dvsync "
            f"{p.get('dvsync_read_same_sample', {}).get('workbooks_per_second')} workbooks/s "
            f"(parse and validate, {p.get('dvsync_read_same_sample', {}).get('processes')} processes) vs "
            f"pandas.read_excel (openpyxl) {p['read_excel_openpyxl']['workbooks_per_second']} workbooks/s "
            f"(x{p.get('read_speedup_same_sample')}); in the first night, while the store writes: "
            f"{p['dvsync_workbooks_per_second']} workbooks/s (x{p['read_speedup_vs_read_excel']})",
            f"- plain Pandera validation: {p['pandera_plain']}",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
