"""Floors and peers of the benchmark, each repeated: median, min-max, wall and CPU seconds.

CPU seconds count this process and every process it started (live workers read from /proc,
finished ones from getrusage), so a measure in two worker processes and one in a single process
compare per core-second, whatever else the machine runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

REPS = 5
READ_SAMPLE = 600
TICK = os.sysconf("SC_CLK_TCK")
ROSTER_COLUMNS = [
    "member_code",
    "full_name",
    "birth_date",
    "gender",
    "personal_id",
    "admission_date",
    "official_date",
]


# --- measuring -----------------------------------------------------------------------------------
def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def _live_children_cpu(root: int) -> float:
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        kids: list[int] = []
        for tid in tids:
            try:
                kids += [int(k) for k in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
            except OSError:
                continue
        for k in kids:
            try:
                cmd = Path(f"/proc/{k}/cmdline").read_bytes()
                if b"server" in cmd and (b"prefect" in cmd or b"uvicorn" in cmd):
                    continue  # the Prefect API server the bench started: not the measured work
                fields = Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
            stack.append(k)
    return total


def tree_cpu() -> float:
    """CPU seconds of this process, its finished children and its live descendants."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + _live_children_cpu(os.getpid())


def repeat(fn: Callable[[], object], reps: int = REPS) -> dict:
    """Run ``fn`` ``reps`` times: wall and CPU seconds, median and min-max; ``fn``'s last result."""
    walls, cpus, result = [], [], None
    for _ in range(reps):
        c, w = tree_cpu(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(tree_cpu() - c)
    return {"wall": spread(walls), "cpu": spread(cpus), "result": result}


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


# --- floors --------------------------------------------------------------------------------------
def read_central_arrow(sqlite_path: Path) -> int:
    """Every central table through the ADBC SQLite driver into Arrow, as text: the floor's read."""
    from connectors.central.sqlite_arrow import _SqliteArrowReader
    from schemas.contract import CENTRAL_TABLES

    rows = 0
    reader = _SqliteArrowReader(str(sqlite_path))
    try:
        reader.begin_snapshot()
        for t, cols in CENTRAL_TABLES.items():
            rows += reader.read_arrow(f'SELECT * FROM "{t}"', cols).num_rows
    finally:
        reader.close()
    return rows


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _calamine_all(path: str) -> int:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(path)
        return sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)
    except Exception:  # noqa: BLE001 - the demo plants broken files; reading them is the cost
        return 0


def checksums(files: list[str], pool: ProcessPoolExecutor) -> int:
    """List and checksum the folder's workbooks (sha256, as the night does to find the new ones)."""
    return len(list(pool.map(_sha, files, chunksize=256)))


def calamine_read(files: list[str], pool: ProcessPoolExecutor) -> int:
    return sum(pool.map(_calamine_all, files, chunksize=64))


def store_tables(results: Path, period: str, year: bool) -> dict:
    """The store's rows as Arrow: the period's rows of every table (``year``: the year's activity)."""
    import adbc_driver_sqlite.dbapi as adbc

    from connectors.store import HISTORY_TABLES, SUB

    out = {}
    with adbc.connect(str(results)) as con, con.cursor() as cur:
        for name, table in SUB.items():
            lo = f"{period[:4]}-01" if (year and name in HISTORY_TABLES) else period
            cur.execute(
                f'SELECT t.* FROM "{table.name}" t JOIN sub_workbooks w ON w.checksum = t.checksum '
                f"WHERE w.status = 'accepted' AND t.period >= ? AND t.period <= ?",
                (lo, period),
            )
            out[name] = cur.fetch_arrow_table()
    return out


def store_write(tables: dict, dest: Path) -> int:
    """Write the rows into a fresh SQLite database with ADBC's bulk ingest: the floor's store write."""
    import adbc_driver_sqlite.dbapi as adbc

    dest.unlink(missing_ok=True)
    rows = 0
    with adbc.connect(str(dest)) as con:
        with con.cursor() as cur:
            for name, t in tables.items():
                if t.num_rows:
                    rows += cur.adbc_ingest(f"sub_{name}", t, mode="create")
        con.commit()
    dest.unlink(missing_ok=True)
    return rows


def first_floor(data: Path, files: list[str], results: Path, period: str, workers: int, reps: int) -> dict:
    """Central read + listing and checksums of all workbooks + raw calamine read of all + store
    write of the first night's rows; each part repeated, the floor is the sum of the medians."""
    tables = store_tables(results, period, year=False)
    scratch = results.parent / "floor-store.sqlite"
    with ProcessPoolExecutor(workers) as pool:
        parts = {
            "central_read": repeat(lambda: read_central_arrow(data / "central.sqlite"), reps),
            "checksums": repeat(lambda: checksums(files, pool), reps),
            "calamine_read_all": repeat(lambda: calamine_read(files, pool), reps),
            "store_write": repeat(lambda: store_write(tables, scratch), reps),
        }
    return _floor(parts, {"workbooks": len(files), "rows_written": sum(t.num_rows for t in tables.values())})


def steady_floor(
    data: Path, files: list[str], changed: list[str], results: Path, period: str, workers: int, reps: int
) -> dict:
    """Central read + listing and checksums of all workbooks + raw calamine read of the changed
    ones + the store's read-back of the year."""
    with ProcessPoolExecutor(workers) as pool:
        parts = {
            "central_read": repeat(lambda: read_central_arrow(data / "central.sqlite"), reps),
            "checksums": repeat(lambda: checksums(files, pool), reps),
            "calamine_read_changed": repeat(lambda: calamine_read(changed, pool), reps),
            "store_read_back": repeat(
                lambda: sum(t.num_rows for t in store_tables(results, period, year=True).values()), reps
            ),
        }
    return _floor(parts, {"workbooks": len(files), "changed": len(changed)})


def _floor(parts: dict, extra: dict) -> dict:
    out = {k: {"wall": v["wall"], "cpu": v["cpu"], "result": v["result"]} for k, v in parts.items()}
    return {
        "parts": out,
        "seconds": round(sum(v["wall"]["median"] for v in parts.values()), 2),
        "cpu_seconds": round(sum(v["cpu"]["median"] for v in parts.values()), 2),
        **extra,
    }


# --- reading -------------------------------------------------------------------------------------
def reading(files: list[Path], workers: int, reps: int) -> dict:
    """The same workbooks read by dvsync (parse and validate every sheet, in its worker processes,
    as the night), pandas.read_excel with calamine (every sheet, IDs as text, one process) and
    raw python-calamine (every sheet to Python values, one process): workbooks per CPU-second."""
    from connectors.workbooks import _parse_all, close_worker_pool, worker_pool

    names = [f.name for f in files]
    out = {}
    try:
        if workers > 1:
            worker_pool(workers)  # started once, as the night starts it for every batch
        out["dvsync"] = repeat(
            lambda: sum(1 for r in _parse_all(files, names, workers, whole_chunks=True) if not r.error), reps
        )
    finally:
        close_worker_pool()
    out["read_excel_calamine"] = repeat(
        lambda: sum(len(pd.read_excel(p, sheet_name=None, dtype=str, engine="calamine")) for p in files), reps
    )
    out["raw_calamine"] = repeat(lambda: sum(_calamine_all(str(p)) for p in files), reps)
    n = len(files)
    for v in out.values():
        v["workbooks_per_cpu_second"] = round(n / v["cpu"]["median"], 1)
        v["workbooks_per_second"] = round(n / v["wall"]["median"], 1)
    d = out["dvsync"]["workbooks_per_cpu_second"]
    return {
        "workbooks": n,
        "processes_dvsync": workers,
        **out,
        "dvsync_vs_read_excel_calamine": round(d / out["read_excel_calamine"]["workbooks_per_cpu_second"], 2),
        "dvsync_vs_raw_calamine": round(d / out["raw_calamine"]["workbooks_per_cpu_second"], 2),
    }


# --- roster --------------------------------------------------------------------------------------
def roster_inputs(central_url: str, results: Path, period: str) -> dict:
    """What the night's roster rules get: validated central tables, the period's roster rows."""
    from connectors.central import read_central
    from connectors.store import ResultsStore
    from rules.common import period_rows
    from schemas.central import validate_central

    central, _, _ = validate_central(read_central(central_url))
    subs = ResultsStore(f"sqlite:///{results.resolve()}").submissions(period)
    roster = period_rows(subs.roster, subs.workbooks, period)
    return {"central": central, "subs": subs, "roster": roster}


def dvsync_roster(frames: dict, period: str, details: bool = True) -> Callable[[], int]:
    """dvsync's roster reconciliation as tree_rules runs it (one join shared by the six rules).
    ``details`` False: without the organisations (details name cells by code, not by name) and
    without the transfer pairs, the rules alone."""
    from rules import roster as ro
    from rules import transfers as tr
    from rules.common import submitted_cells

    c, s, roster = frames["central"], frames["subs"], frames["roster"]
    members, orgs = c.members, (c.organizations if details else None)
    sent = submitted_cells(s.workbooks, roster, period)
    sos = tr.still_on_sender_pairs(c.transfers, members, roster) if details else None

    def run() -> int:
        match = ro.match_roster(members, roster)
        found = [
            ro.roster_missing_in_cell(members, roster, c.transfers, sent, period, match, organizations=orgs),
            ro.roster_not_in_central(members, roster, period, match, organizations=orgs),
            ro.roster_wrong_cell(members, roster, sos, match, organizations=orgs),
            ro.roster_inactive_listed(members, roster, sos, match, organizations=orgs),
            ro.roster_field_mismatch(members, roster, match, organizations=orgs),
            ro.duplicate_person(members, roster, match, organizations=orgs),
        ]
        return sum(len(f) for f in found)

    return run


def plain_merge(central: pd.DataFrame, cells: pd.DataFrame) -> Callable[[], int]:
    """A plain pandas outer merge on member_code with six per-column compares."""
    fields = ROSTER_COLUMNS[1:]

    def run() -> int:
        m = central.merge(cells, on="member_code", how="outer", suffixes=("_c", "_s"), indicator=True)
        n = int((m["_merge"] != "both").sum())
        both = m[m["_merge"] == "both"]
        for f in fields:
            a, b = both[f"{f}_c"], both[f"{f}_s"]
            n += int((a.notna() & b.notna() & (a != b)).sum())
        return n

    return run


DATACOMPY_SCRIPT = r"""
import json, os, statistics, sys, time
import pandas as pd, datacompy
central = pd.read_parquet(sys.argv[1]); cells = pd.read_parquet(sys.argv[2]); reps = int(sys.argv[3])
Compare = getattr(datacompy, "PandasCompare", None) or datacompy.Compare
out = {"datacompy": datacompy.__version__, "pandas": pd.__version__, "rows": [len(central), len(cells)]}
for with_report in (False, True):
    walls, cpus = [], []
    for _ in range(reps):
        c, w = time.process_time(), time.perf_counter()
        cmp = Compare(central, cells, join_columns="member_code")
        if with_report:
            cmp.report()
        else:
            cmp.matches()
        walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)
    out["report" if with_report else "compare"] = {
        "wall": {"median": round(statistics.median(walls), 3), "min": round(min(walls), 3), "max": round(max(walls), 3), "n": reps},
        "cpu": {"median": round(statistics.median(cpus), 3), "min": round(min(cpus), 3), "max": round(max(cpus), 3), "n": reps},
    }
print(json.dumps(out))
"""


def datacompy(work: Path, central: pd.DataFrame, cells: pd.DataFrame, reps: int, venv: Path) -> dict:
    """datacompy (needs pandas < 3.1) in its own venv, on the same rows, with and without report()."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "datacompy", "pandas<3.1", "pyarrow"], check=True
        )
    a, b = work / "dc_central.parquet", work / "dc_cells.parquet"
    central.to_parquet(a)
    cells.to_parquet(b)
    proc = subprocess.run(
        [str(py), "-c", DATACOMPY_SCRIPT, str(a), str(b), str(reps)], capture_output=True, text=True
    )
    if proc.returncode:
        return {"error": proc.stderr[-800:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def roster(central_url: str, results: Path, period: str, work: Path, reps: int, venv: Path) -> dict:
    frames = roster_inputs(central_url, results, period)
    # The same rows for every side: central's members and the period's roster rows, six fields.
    central = frames["central"].members[ROSTER_COLUMNS].copy()
    cells = frames["roster"][ROSTER_COLUMNS].copy()
    for df in (central, cells):
        for col in ROSTER_COLUMNS:
            if col.endswith("_date"):
                df[col] = pd.to_datetime(df[col], errors="coerce")
            else:
                df[col] = df[col].astype("string")
    out = {
        "rows": {"central": len(central), "roster": len(cells)},
        "dvsync": repeat(dvsync_roster(frames, period), reps),
        "dvsync_rules_only": repeat(dvsync_roster(frames, period, details=False), reps),
        "plain_merge": repeat(plain_merge(central, cells), reps),
        "datacompy": datacompy(work, central, cells, reps, venv),
    }
    d = out["dvsync"]["cpu"]["median"]
    out["dvsync_vs_plain_merge"] = round(d / out["plain_merge"]["cpu"]["median"], 3)
    out["rules_only_vs_plain_merge"] = round(
        out["dvsync_rules_only"]["cpu"]["median"] / out["plain_merge"]["cpu"]["median"], 3
    )
    if "compare" in out["datacompy"]:
        out["dvsync_vs_datacompy"] = round(d / out["datacompy"]["compare"]["cpu"]["median"], 3)
        out["dvsync_vs_datacompy_report"] = round(d / out["datacompy"]["report"]["cpu"]["median"], 3)
    return out
