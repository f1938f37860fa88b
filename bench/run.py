"""The benchmark: generate data at a scale, run real nights, measure their floors and the peers.

    python -m bench.run --members 100000            # report in bench/results/100000.{json,md}

Nights, each in a fresh process (bench/night.py, what ``dvsync nightly`` runs) against a running
local Prefect server:
1. the first night (as_of: every workbook of the period new, an empty results store);
2. the store is then preloaded with every earlier month of the year (January to the month before
   the period: the cells' attendance, as the period's workbooks have it, one workbook per cell and
   month, written into the results database; bench.preload), so that the next nights read the
   year back as a real one does;
3. the next nights, as_of + 1 and as_of + 2: each time 5% of the cells send a corrected workbook
   that changes data (dvsync.demo.corrections: a planted roster finding fixed, a new one made),
   with central read from SQLite and, on a copy of the results store, from PostgreSQL (the demo's
   tables copied into a database the bench creates and drops).
Every night's findings are checked against the planted ones (precision and recall per list). The
floors (first night: central read, checksums of every workbook, raw python-calamine read of
every workbook, store write of the rows; next night: central read, checksums, the changed
workbooks read raw, the store's read-back of the year) and the peers (reading: pandas.read_excel
with calamine, raw python-calamine, per CPU-second; roster: datacompy with and without report()
in its own venv, a plain pandas outer merge with six compares, on the same rows) run 5 times each:
median, min-max, CPU seconds, and /proc/loadavg before and after. The report is rewritten after
every phase, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

from bench import peers
from bench.preload import preload_year

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


def ensure_data(members: int, seed: int, workdir: Path, provinces: int | None = None) -> tuple[Path, dict]:
    """The demo data set, generated once per (members, seed[, provinces]) and kept in ``workdir``;
    from 2,000,000 members (or with ``provinces``) a national one, province by province."""
    from dvsync.demo import generate

    data = workdir / (f"demo-{members}-{seed}" + (f"-p{provinces}" if provinces else ""))
    if not (data / "demo.json").exists():
        shutil.rmtree(data, ignore_errors=True)
        start = time.perf_counter()
        info = generate(
            members=members,
            out=data,
            seed=seed,
            provinces=provinces,
            progress=lambda m: print(" ", m, flush=True),
        )
        info["seconds"] = round(time.perf_counter() - start, 1)
        (data / "generate.json").write_text(
            json.dumps(info, ensure_ascii=False, default=str), encoding="utf-8"
        )
    return data, json.loads((data / "demo.json").read_text())


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


# --- PostgreSQL central --------------------------------------------------------------------------
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextlib.contextmanager
def postgres_central(sqlite_path: Path, name: str):
    """The demo's central tables copied into a PostgreSQL database created for the bench and
    dropped after it (never the machine's ``test`` database)."""
    import psycopg

    from dvsync.demo.loading import copy_tables

    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        start = time.perf_counter()
        rows = copy_tables(f"sqlite:///{sqlite_path}", url)
        yield (
            url,
            {
                "database": name,
                "rows": sum(rows.values()),
                "copy_seconds": round(time.perf_counter() - start, 1),
            },
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- nights --------------------------------------------------------------------------------------
def run_night(central: str, submissions: Path, out: Path, as_of: str, period: str, tag: str) -> dict:
    """One night in a fresh process (bench/night.py) against the running Prefect server: the
    process's wall and CPU time (workers included), the flow's stages and memory."""
    result = out.parent / f"night-{tag}.json"
    cmd = [sys.executable, "-m", "bench.night", "--central", central, "--submissions", str(submissions)]
    cmd += ["--out", str(out), "--as-of", as_of, "--period", period, "--result", str(result)]
    load0 = peers.loadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # its rusage: the night's process and its workers
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    (out.parent / f"night-{tag}.log").write_text(log, encoding="utf-8")
    if proc.returncode != 0:
        raise RuntimeError(f"night {tag} failed:\n{log[-3000:]}")
    night = json.loads(result.read_text(encoding="utf-8"))
    night.update(
        {
            "as_of": as_of,
            "central": central.split(":", 1)[0].split("+", 1)[0],
            "process_seconds": round(wall, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "loadavg_before": load0,
            "loadavg_after": peers.loadavg(),
        }
    )
    night["throughput"] = _throughput(night)
    return night


def _throughput(night: dict) -> dict:
    """Rows and workbooks per second of the stages that move them."""
    sec = night["stage_seconds"]
    central = sum(c["read"] for k, c in night["rows"].items() if k.startswith("central."))
    files = night["files"]
    books = files.get("files_new", 0) + files.get("files_rejected", 0)
    stored = files.get("store", {}).get("rows", 0)

    def per(n: float, stage: str) -> float | None:
        return round(n / sec[stage]) if sec.get(stage) else None

    return {
        "central_rows": central,
        "extract_central_rows_per_s": per(central, "extract central"),
        "validate_central_rows_per_s": per(central, "validate central"),
        "read_workbooks_per_s": per(books, "read workbooks"),
        "store_rows_per_s": per(stored, "store submissions"),
        "reconcile_members_per_s": per(night["rows"].get("central.members", {}).get("read", 0), "reconcile"),
    }


KEY = ["list_code", "org_code", "member_code", "field"]


def precision_recall(findings_csv: Path, expected: pd.DataFrame, corrected: set[str] | None = None) -> dict:
    """Planted (expected) findings against the night's findings.csv (without the ones it lists as
    resolved), per list and in all. ``corrected``: the cells that sent a corrected workbook that
    night; the corrections change roster rows, so a difference on a roster list in those cells is
    theirs, and any other cannot come from them (central and the other workbooks did not change)
    but from the date: boundary cases planted at the first as_of (an age reached, a deadline
    passed on that very day) that as_of + 1 moves across."""
    found = pd.read_csv(findings_csv, dtype=str, encoding="utf-8-sig").fillna("")
    if "status" in found.columns:
        found = found[found["status"] != "resolved"]
    expected = expected.fillna("").astype(str)
    per, tp_all, got_all, want_all = {}, 0, 0, 0
    outside = {"extra": 0, "missed": 0}
    for code in sorted(set(found["list_code"]) | set(expected["list_code"])):
        got = set(found.loc[found["list_code"] == code, KEY].itertuples(index=False, name=None))
        want = set(expected.loc[expected["list_code"] == code, KEY].itertuples(index=False, name=None))
        tp = len(got & want)
        v = {
            "expected": len(want),
            "found": len(got),
            "precision": round(tp / len(got), 4) if got else None,
            "recall": round(tp / len(want), 4) if want else None,
        }
        if corrected is not None:
            # The corrections change roster rows only: a roster list's difference in a corrected
            # cell is theirs; any other difference is the date's.
            def theirs(k: tuple) -> bool:
                return k[1] in corrected and k[0].startswith("ROSTER_")

            v["extra_outside_corrected"] = sum(1 for k in got - want if not theirs(k))
            v["missed_outside_corrected"] = sum(1 for k in want - got if not theirs(k))
            v["extra_in_corrected"] = len(got - want) - v["extra_outside_corrected"]
            v["missed_in_corrected"] = len(want - got) - v["missed_outside_corrected"]
            outside["extra"] += v["extra_outside_corrected"]
            outside["missed"] += v["missed_outside_corrected"]
        per[code] = v
        tp_all, got_all, want_all = tp_all + tp, got_all + len(got), want_all + len(want)
    out = {
        "precision": round(tp_all / got_all, 4) if got_all else None,
        "recall": round(tp_all / want_all, 4) if want_all else None,
        "expected": want_all,
        "found": got_all,
        "per_list": per,
    }
    if corrected is not None:
        inside = {k: sum(v[f"{k}_in_corrected"] for v in per.values()) for k in ("extra", "missed")}
        out["differences_in_corrected_cells"] = inside  # the corrections' own findings: 0 and 0 expected
        out["differences_outside_corrected_cells"] = outside  # date-driven (see above)
    return out


def _same_lists(a: Path, b: Path) -> bool:
    """The two nights' findings, as sets of keys with their status, are the same."""
    cols = [*KEY, "ref", "status"]
    fa, fb = (pd.read_csv(p, dtype=str, encoding="utf-8-sig").fillna("") for p in (a, b))
    cols = [c for c in cols if c in fa.columns and c in fb.columns]
    return set(fa[cols].itertuples(index=False, name=None)) == set(
        fb[cols].itertuples(index=False, name=None)
    )


def main(argv: list[str] | None = None) -> int:
    from schemas.settings import prefect_defaults

    prefect_defaults()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--provinces",
        type=int,
        help="a national data set of that many provinces (default: 34 from 2,000,000 members)",
    )
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"))
    ap.add_argument(
        "--share", type=float, default=0.05, help="cells sending a corrected workbook each next night"
    )
    ap.add_argument("--next-nights", type=int, default=2)
    ap.add_argument("--reps", type=int, default=peers.REPS)
    ap.add_argument("--no-postgres", action="store_true", help="next nights with central in SQLite only")
    ap.add_argument("--skip-peers", action="store_true", help="no reading/roster peers (floors still run)")
    ap.add_argument("--floors-last", action="store_true", help="measure the floors after the nights")
    ap.add_argument("--datacompy-venv", default="/tmp/datacompy-venv")
    ap.add_argument(
        "--ephemeral-prefect",
        action="store_true",
        help="each night starts its own temporary Prefect server (as a bare `dvsync nightly`)",
    )
    args = ap.parse_args(argv)
    # A stopped bench (kill PID) still stops its Prefect server and drops its PostgreSQL database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with prefect_server(args.ephemeral_prefect) as api:
        return _bench(args, api)


def _bench(args: argparse.Namespace, api: str) -> int:
    from dvsync.demo.corrections import correct_workbooks

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    dest = Path(args.results)
    dest.mkdir(parents=True, exist_ok=True)
    workers = int(os.environ.get("DVSYNC_WORKERS", str(min(4, os.cpu_count() or 1))))
    report: dict = {
        "members": args.members,
        "seed": args.seed,
        "machine": machine(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "worktree_changes": _git(
            "status", "--short", "--", "bench", "dvsync", "connectors", "flows", "rules", "schemas"
        ).splitlines(),
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "prefect_api": "ephemeral (a temporary server per run)"
        if api == "ephemeral"
        else "a running local Prefect server (started before the nights, not timed)",
        "reps": args.reps,
        "status": "running",
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }

    # Reports: <members>.json/.md; a national data set asked for below NATIONAL_FROM: <members>-p<n>.
    name = f"{args.members}" + (f"-p{args.provinces}" if args.provinces else "")

    def save(phase: str) -> None:
        report["last_phase"] = phase
        (dest / f"{name}.json").write_text(
            json.dumps(report, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        (dest / f"{name}.md").write_text(markdown(report), encoding="utf-8")
        print(f"[bench] {phase} ({time.strftime('%H:%M:%S')})", flush=True)

    print(f"[bench] data for {args.members:,} members", flush=True)
    data, meta = ensure_data(args.members, args.seed, work, args.provinces)
    report["generate"] = (
        json.loads((data / "generate.json").read_text()) if (data / "generate.json").exists() else meta
    )
    report["as_of"], report["period"] = meta["as_of"], meta["period"]
    run_dir = work / f"run-{data.name.removeprefix('demo-')}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    # The next nights change workbooks: they work on a copy of the submissions (the data stays pristine).
    subs = run_dir / "submissions"
    # Hard links: a corrected workbook is written aside and renamed over its link, the original stays.
    shutil.copytree(data / "submissions", subs, copy_function=os.link)
    out = run_dir / "out"
    sqlite_url = f"sqlite:///{data / 'central.sqlite'}"
    period, as_of0 = meta["period"], pd.Timestamp(meta["as_of"])
    expected = pd.read_csv(data / "expected_findings.csv", dtype=str).fillna("")
    files = [str(p) for p in sorted(subs.glob("*.xlsx"))]
    report["nights"] = []
    save("data ready")

    first = run_night(sqlite_url, subs, out, meta["as_of"], period, "first")
    first["kind"] = "first"
    first["precision_recall"] = precision_recall(out / "findings.csv", expected)
    report["nights"].append(first)
    save("first night")

    def first_floor() -> None:
        report["first_floor"] = peers.first_floor(
            data, files, out / "results.sqlite", period, workers, min(args.reps, 3)
        )
        report["first_floor"]["night_over_floor"] = round(
            first["process_seconds"] / report["first_floor"]["seconds"], 2
        )
        report["first_floor"]["night_over_floor_cpu"] = round(
            first["cpu_seconds"] / report["first_floor"]["cpu_seconds"], 2
        )
        save("first-night floor")

    def steady_floor(changed: list[str]) -> None:
        report["steady_floor"] = peers.steady_floor(
            data, files, changed, out / "results.sqlite", period, workers, min(args.reps, 3)
        )
        save("steady-path floor")

    if not args.floors_last:
        first_floor()

    report["preload"] = preload_year(out / "results.sqlite", period)
    save("store preloaded with the year")

    pg_ctx = (
        contextlib.nullcontext((None, None))
        if args.no_postgres
        else postgres_central(data / "central.sqlite", f"dvsync_bench_{args.members}_{os.getpid()}")
    )
    with pg_ctx as (pg_url, pg_info):
        if pg_url:
            report["postgresql"] = pg_info
            out_pg = run_dir / "out-pg"
            shutil.copytree(out, out_pg, symlinks=True)  # the same store state (the published set: links)
            save("central copied into PostgreSQL")
        exclude: set[str] = set()
        for k in range(1, args.next_nights + 1):
            as_of = (as_of0 + pd.Timedelta(days=k)).date()
            expected, change = correct_workbooks(
                data, subs, period, as_of, args.share, args.seed + k, expected, exclude
            )
            exclude |= set(change["files"])
            changed = [str(subs / f) for f in change["files"]]
            cells = {f.rsplit("_", 1)[0] for f in change["files"]}
            (run_dir / f"expected-{as_of}.csv").write_text(expected.to_csv(index=False), encoding="utf-8")
            change = {k_: v for k_, v in change.items() if k_ != "files"}
            night = run_night(sqlite_url, subs, out, str(as_of), period, f"next{k}-sqlite")
            night.update(kind=f"next night {k}", corrections=change)
            night["precision_recall"] = precision_recall(out / "findings.csv", expected, cells)
            report["nights"].append(night)
            save(f"next night {k} (SQLite)")
            if k == 1:
                changed_first = changed
                if not args.floors_last:
                    steady_floor(changed)
            if pg_url:
                night_pg = run_night(pg_url, subs, out_pg, str(as_of), period, f"next{k}-postgresql")
                night_pg.update(kind=f"next night {k}", corrections=change)
                night_pg["precision_recall"] = precision_recall(out_pg / "findings.csv", expected, cells)
                night_pg["same_lists_as_sqlite"] = _same_lists(out / "findings.csv", out_pg / "findings.csv")
                report["nights"].append(night_pg)
                save(f"next night {k} (PostgreSQL)")
    if args.floors_last:  # the nights first (a big data set in a short window)
        first_floor()
        if args.next_nights:
            steady_floor(changed_first)
    steady = [n for n in report["nights"] if n["kind"] != "first" and n["central"] == "sqlite"]
    if steady and "steady_floor" in report:
        report["steady_floor"]["night_over_floor"] = [
            round(n["process_seconds"] / report["steady_floor"]["seconds"], 2) for n in steady
        ]
        report["steady_floor"]["night_over_floor_cpu"] = [
            round(n["cpu_seconds"] / report["steady_floor"]["cpu_seconds"], 2) for n in steady
        ]

    if not args.skip_peers:
        sample = [Path(f) for f in files[: peers.READ_SAMPLE]]
        report["reading"] = peers.reading(sample, workers, args.reps)
        save("reading peers")
        report["roster"] = peers.roster(
            sqlite_url, out / "results.sqlite", period, run_dir, args.reps, Path(args.datacompy_venv)
        )
        save("roster peers")
    report["status"] = "finished"
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    save("done")
    print(markdown(report))
    return 0


TARGETS = {  # members -> (first night s, next night s, peak MB)
    1_000_000: (180, 45, 3 * 1024),
    5_600_000: (20 * 60, 180, 12 * 1024),
}


def _s(v: dict | None, key: str = "wall") -> str:
    """median [min-max] of a repeat() measure."""
    if not v or key not in v:
        return ""
    m = v[key]
    return f"{m['median']:.2f} [{m['min']:.2f}–{m['max']:.2f}]"


def targets(r: dict) -> list[tuple[str, str, str]]:
    """(target, measured, met?) for the report and the README."""
    out = []
    nights = r.get("nights", [])
    first = next((n for n in nights if n["kind"] == "first"), None)
    nexts = [n for n in nights if n["kind"] != "first" and n["central"] == "sqlite"]
    t = TARGETS.get(r["members"])
    yes = lambda ok: "met" if ok else "not met"  # noqa: E731
    if t and first:
        out.append(
            (
                f"first night < {t[0] / 60:g} min",
                f"{first['process_seconds']:.0f} s",
                yes(first["process_seconds"] < t[0]),
            )
        )
    if t and nexts:
        worst = max(n["process_seconds"] for n in nexts)
        out.append((f"next night < {t[1]} s", f"{worst:.0f} s (slowest, SQLite)", yes(worst < t[1])))
    if t and nights:
        peak = max(n["peak_pss_mb"] for n in nights)
        out.append((f"peak < {t[2] / 1024:g} GB", f"{peak / 1024:.2f} GB", yes(peak < t[2])))
    ff, sf = r.get("first_floor"), r.get("steady_floor")
    if ff and "night_over_floor" in ff:
        cpu = f" (CPU: {ff['night_over_floor_cpu']})" if "night_over_floor_cpu" in ff else ""
        out.append(
            (
                "first night ≤ 3 × its floor (wall)",
                f"{ff['night_over_floor']}{cpu}",
                yes(ff["night_over_floor"] <= 3),
            )
        )
    if sf and sf.get("night_over_floor"):
        worst = max(sf["night_over_floor"])
        out.append(
            (
                "next night ≤ 2.5 × its floor (wall)",
                f"{', '.join(map(str, sf['night_over_floor']))}"
                + (
                    f" (CPU: {', '.join(map(str, sf['night_over_floor_cpu']))})"
                    if sf.get("night_over_floor_cpu")
                    else ""
                ),
                yes(worst <= 2.5),
            )
        )
    rd = r.get("reading")
    if rd:
        out.append(
            (
                "reading ≥ 3 × read_excel(calamine) per CPU-s",
                f"× {rd['dvsync_vs_read_excel_calamine']}",
                yes(rd["dvsync_vs_read_excel_calamine"] >= 3),
            )
        )
        out.append(
            (
                "reading ≥ ⅓ raw calamine per CPU-s",
                f"{rd['dvsync_vs_raw_calamine']}",
                yes(rd["dvsync_vs_raw_calamine"] >= 1 / 3),
            )
        )
    ro = r.get("roster")
    if ro:
        out.append(
            (
                "roster ≤ ½ plain merge (CPU)",
                f"{ro['dvsync_vs_plain_merge']}",
                yes(ro["dvsync_vs_plain_merge"] <= 0.5),
            )
        )
        if "dvsync_vs_datacompy" in ro:
            out.append(
                (
                    "roster ≤ ¼ datacompy without report() (CPU)",
                    f"{ro['dvsync_vs_datacompy']}",
                    yes(ro["dvsync_vs_datacompy"] <= 0.25),
                )
            )
    return out


GEN_NOTE = "generator 1.3 writes the same bytes below 2,000,000 members"


def _generator_version() -> str:
    from dvsync.demo import GENERATOR_VERSION

    return GENERATOR_VERSION


def _pair(d: dict | None) -> str:
    return "" if not d else f"{d['extra']} / {d['missed']}"


def markdown(r: dict) -> str:
    m = r["machine"]
    g = r.get("generate") or {}
    lines = [
        f"# Benchmark: {r['members']:,} members",
        "",
        f"Status: **{r.get('status')}** (last phase: {r.get('last_phase')}; started {r.get('started')}"
        + (f", finished {r['finished']}" if r.get("finished") else "")
        + ").",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb']:,} MB; Python {m['python']}, pandas "
        f"{m['pandas']}, prefect {m['prefect']}. Commit {r.get('commit')}"
        + (f" (+ uncommitted: {len(r['worktree_changes'])} files)" if r.get("worktree_changes") else "")
        + f": `{r.get('command')}`. Prefect API: {r.get('prefect_api')}.",
        f"Data: {g.get('members', 0):,} members"
        + (f" in {g['provinces']} provinces" if g.get("provinces") else " (one province)")
        + f", {g.get('workbooks', 0):,} workbooks, as_of {r.get('as_of')}, period {r.get('period')}; "
        f"generator {g.get('generator_version')}"
        + (f" ({GEN_NOTE})" if g.get("generator_version") not in (None, _generator_version()) else "")
        + f", generated in {g.get('seconds')} s"
        + (f", peak {g['peak_rss_mb']:,} MB" if g.get("peak_rss_mb") else "")
        + ".",
        "",
    ]
    tg = targets(r)
    if tg:
        lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in tg]
        lines.append("")
    nights = r.get("nights", [])
    if nights:
        lines += [
            "## Nights",
            "",
            "Each night a fresh process (`python -m bench.night`, what `dvsync nightly` runs) against the "
            "running Prefect server; process = its wall time from start to exit (interpreter, imports and "
            "Prefect included), CPU = the process and its workers. Peak = PSS of the process tree "
            "(bench/memory.py).",
            "",
            "Precision and recall: the night's findings (those it lists as resolved left out) against the "
            "planted ones (expected_findings.csv; after a correction, minus the findings it fixed, plus "
            "the ones it made). A next night's differences are split: the roster lists in the cells that "
            "sent a corrected workbook (the corrections' own findings: 0 / 0 is right) and the rest, "
            "where nothing but the date changed: boundary cases planted at the first as_of (an age, a "
            "deadline on that very day) that as_of + 1 moves across.",
            "",
            "| night | as_of | central | process s | flow s | CPU s | peak MB | workbooks new / unchanged | rows stored | findings | precision | recall | extra / missed from the corrections | extra / missed from the date | load before → after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for n in nights:
            f = n["files"]
            pr = n.get("precision_recall", {})
            lines.append(
                f"| {n['kind']} | {n['as_of']} | {n['central']} | {n['process_seconds']} | {n['flow_seconds']} | "
                f"{n['cpu_seconds']} | {n['peak_pss_mb']:,} | {f.get('files_new', 0):,} / {f.get('files_unchanged', 0):,} | "
                f"{f.get('store', {}).get('rows', 0):,} | {n['findings']:,} | {pr.get('precision')} | {pr.get('recall')} | "
                f"{_pair(pr.get('differences_in_corrected_cells'))} | {_pair(pr.get('differences_outside_corrected_cells'))} | "
                f"{n['loadavg_before'][0]} → {n['loadavg_after'][0]} |"
            )
        stages = [k for k in nights[0]["stage_seconds"] if k != "total"]
        for n in nights[1:]:
            stages += [k for k in n["stage_seconds"] if k != "total" and k not in stages]
        heads = [f"{n['kind']} ({n['central']})" for n in nights]
        lines += [
            "",
            "Stages, seconds (peak MB):",
            "",
            "| stage | " + " | ".join(heads) + " |",
            "|---|" + "---|" * len(nights),
        ]
        for k in [*stages, "total"]:
            cells = []
            for n in nights:
                v = n["stage_seconds"].get(k)
                p = n["stage_peak_pss_mb"].get(k)
                cells.append("" if v is None else f"{v:.1f}" + (f" ({p:,})" if p else ""))
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        corr = [n for n in nights if n.get("corrections") and n["central"] == "sqlite"]
        for n in corr:
            c = n["corrections"]
            lines.append(
                f"\n{n['kind']}: {c['workbooks']:,} corrected workbooks; planted findings resolved {c['resolved']}, "
                f"new {c['new']}."
            )
        pg = [n for n in nights if "same_lists_as_sqlite" in n]
        if pg:
            lines.append(
                "\nPostgreSQL nights give the same findings (keys and status) as the SQLite nights: "
                + ", ".join(f"{n['kind']}: {'yes' if n['same_lists_as_sqlite'] else 'NO'}" for n in pg)
                + f". Central copied into PostgreSQL database `{r['postgresql']['database']}` "
                f"({r['postgresql']['rows']:,} rows, {r['postgresql']['copy_seconds']} s, dropped after)."
            )
        t = nights[0].get("throughput", {})
        if t:
            lines.append(
                f"\nFirst night throughput ({t.get('central_rows', 0):,} central rows): "
                + "; ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in t.items() if v and k != "central_rows")
                + "."
            )
    if r.get("preload"):
        p = r["preload"]
        lines.append(
            f"\nStore preloaded after the first night with months {p['months'][0]}–{p['months'][-1]}: "
            f"{p['workbooks_added']:,} workbooks, {p['activity_rows_added']:,} attendance rows "
            f"({p['activity_rows_in_store']:,} in the store; {p['seconds']} s, bench/preload.py)."
            if p["months"]
            else "\nNo earlier month to preload."
        )
    for key, title in (
        ("first_floor", "First-night floor"),
        ("steady_floor", "Next-night (steady path) floor"),
    ):
        fl = r.get(key)
        if not fl:
            continue
        lines += [
            "",
            f"## {title}: {fl['seconds']} s (CPU {fl['cpu_seconds']} s); night / floor = {fl.get('night_over_floor')} "
            f"(CPU: {fl.get('night_over_floor_cpu')})",
            "",
            "| part | wall s, median [min–max] | CPU s | result |",
            "|---|---|---|---|",
        ]
        for k, v in fl["parts"].items():
            lines.append(f"| {k} | {_s(v)} | {_s(v, 'cpu')} | {v['result']:,} |")
    rd = r.get("reading")
    if rd:
        lines += [
            "",
            f"## Reading the same {rd['workbooks']} workbooks ({r.get('reps')} runs each)",
            "",
            "| reader | wall s | CPU s | workbooks / CPU-s | workbooks / s |",
            "|---|---|---|---|---|",
        ]
        for k, label in (
            ("dvsync", f"dvsync (parse + validate every sheet, {rd['processes_dvsync']} processes)"),
            ("read_excel_calamine", "pandas.read_excel(engine='calamine'), every sheet, dtype=str"),
            ("raw_calamine", "python-calamine, every sheet to Python values"),
        ):
            v = rd[k]
            lines.append(
                f"| {label} | {_s(v)} | {_s(v, 'cpu')} | {v['workbooks_per_cpu_second']} | {v['workbooks_per_second']} |"
            )
        lines.append(
            f"\ndvsync per CPU-second: × {rd['dvsync_vs_read_excel_calamine']} read_excel(calamine), "
            f"{rd['dvsync_vs_raw_calamine']} of raw calamine."
        )
    ro = r.get("roster")
    if ro:
        dc = ro["datacompy"]
        lines += [
            "",
            f"## Roster comparison, the same rows ({ro['rows']['central']:,} central members, {ro['rows']['roster']:,} roster rows; {r.get('reps')} runs each)",
            "",
            "| side | wall s | CPU s |",
            "|---|---|---|",
            f"| dvsync: the six roster rules as the night runs them (one shared join, Vietnamese details) | {_s(ro['dvsync'])} | {_s(ro['dvsync'], 'cpu')} |",
            f"| dvsync: the same rules without organisation names in the details | {_s(ro.get('dvsync_rules_only'))} | {_s(ro.get('dvsync_rules_only'), 'cpu')} |",
            f"| plain pandas outer merge + six compares (raw inequality: no name folding, ID or date normalisation) | {_s(ro['plain_merge'])} | {_s(ro['plain_merge'], 'cpu')} |",
        ]
        if "compare" in dc:
            lines += [
                f"| datacompy {dc['datacompy']} (pandas {dc['pandas']}), compare only | {_s(dc['compare'])} | {_s(dc['compare'], 'cpu')} |",
                f"| datacompy, compare + report() | {_s(dc['report'])} | {_s(dc['report'], 'cpu')} |",
            ]
        else:
            lines.append(f"| datacompy | error: {dc.get('error', '')[:200]} | |")
        lines.append(
            f"\ndvsync / plain merge (CPU) = {ro['dvsync_vs_plain_merge']} (rules only: "
            f"{ro.get('rules_only_vs_plain_merge')}); dvsync / datacompy = "
            f"{ro.get('dvsync_vs_datacompy')} (with report(): {ro.get('dvsync_vs_datacompy_report')})."
        )
    if nights:
        lists = sorted({k for n in nights for k in n.get("precision_recall", {}).get("per_list", {})})
        lines += [
            "",
            "## Planted findings: precision / recall per list (expected → found)",
            "",
            "| list | " + " | ".join(f"{n['kind']} ({n['central']})" for n in nights) + " |",
            "|---|" + "---|" * len(nights),
        ]
        for code in lists:
            cells = []
            for n in nights:
                v = n.get("precision_recall", {}).get("per_list", {}).get(code)
                cells.append(
                    "" if v is None else f"{v['precision']} / {v['recall']} ({v['expected']}→{v['found']})"
                )
            lines.append(f"| {code} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
