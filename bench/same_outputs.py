"""Are two revisions' outputs the same? For a refactoring step, whose behaviour must not change.

    python -m bench.same_outputs --data DIR --before REV [--after REV]

DIR is a `dvsync demo` data set (central.sqlite, submissions/, demo.json). Each revision is checked
out in a temporary git worktree and runs the nightly there, in a fresh process, with its own
results database; then findings.csv and quarantine.csv are compared byte for byte and every
committee workbook cell by cell (the xlsx container carries timestamps). Prints one line per
kind of output and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(rev: str, data: Path, work: Path) -> Path:
    tree = work / f"tree-{rev.replace('/', '_')}"
    if rev == "WORKTREE":
        tree = ROOT
    else:
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True, capture_output=True
        )
    meta = json.loads((data / "demo.json").read_text())
    out = work / f"out-{rev.replace('/', '_')}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "PREFECT_HOME": str(work / "prefect"),
        "DVSYNC_NO_WATCHDOG": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dvsync.cli",
            "nightly",
            "--central",
            f"sqlite:///{data / 'central.sqlite'}",
            "--submissions",
            str(data / "submissions"),
            "--as-of",
            meta["as_of"],
            "--period",
            meta["period"],
            "--out",
            str(out),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.exit(f"{rev}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return out


def cells(path: Path) -> list:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return [(ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default="WORKTREE")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        work = Path(tmp)
        try:
            a, b = run(args.before, args.data, work), run(args.after, args.data, work)
            bad = 0
            for name in ("findings.csv", "quarantine.csv"):
                same = (a / name).read_bytes() == (b / name).read_bytes()
                bad += not same
                print(f"{name}: {'same bytes' if same else 'DIFFERENT'}")
            books_a = sorted(p.relative_to(a) for p in (a / "committees").rglob("*.xlsx"))
            books_b = sorted(p.relative_to(b) for p in (b / "committees").rglob("*.xlsx"))
            differ = [p for p in books_a if p not in books_b or cells(a / p) != cells(b / p)]
            differ += [p for p in books_b if p not in books_a]
            bad += bool(differ)
            print(f"committee workbooks: {len(books_a)} vs {len(books_b)}, {len(differ)} differ {differ[:5]}")
            return 1 if bad else 0
        finally:
            for t in work.glob("tree-*"):
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(t)], cwd=ROOT, capture_output=True
                )


if __name__ == "__main__":
    sys.exit(main())
