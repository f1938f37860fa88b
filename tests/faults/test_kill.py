"""kill -9 at each stage of a night: the published set on disk is never mixed (the previous set or
the whole new one), the results database keeps the run whole or not at all, dead runs' partition
folders and half-built sets go at the next start, and a rerun gives the reference lists byte for
byte. Also: a full disk at publication and at the store, and an unreachable results database
(exit 3, one line, no traceback, the published set intact)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from faultkit import NIGHT1, NIGHT2, NIGHT3, copy_out, nightly, one_set, view

# In the order a night reaches them: the stages, and points inside the two that write.
KILL_POINTS = [
    "validate central",  # the member tables are already in their partition files
    "store submissions",
    "reconcile",
    "record history:transaction",  # inside the history's transaction, before its commit
    "publish:findings.csv",  # the new findings.csv written, nothing else
    "publish:written",  # the whole new set written, not yet current
    "publish:switched",  # current, before the old sets are pruned
    "publish artifacts",
]


def partitions(out: Path) -> list[Path]:
    return sorted(out.glob(".dvsync-partitions-*"))


@pytest.fixture(scope="module")
def nights(fault_env, demo, tmp_path_factory):
    """Night 1 published (the state every fault starts from), and night 2's reference lists from
    an undisturbed run."""
    root = tmp_path_factory.mktemp("faults-nights")
    first = root / "after-night1"
    run = nightly(fault_env, demo, first, NIGHT1)
    assert run.rc == 0, run.err[-3000:]
    ref = copy_out(first, root / "reference")
    run = nightly(fault_env, demo, ref, NIGHT2)
    assert run.rc == 0, run.err[-3000:]
    return {
        "base": first,
        "base_view": view(first),
        "findings": (ref / "findings.csv").read_bytes(),
        "quarantine": (ref / "quarantine.csv").read_bytes(),
        "root": root,
    }


def test_kill_at_each_stage_then_rerun(fault_env, demo, nights):
    out = copy_out(nights["base"], nights["root"] / "killed")
    before = nights["base_view"]
    survived = 0
    for point in KILL_POINTS:
        run = nightly(fault_env, demo, out, NIGHT2, DVSYNC_FAULT_AT=point)
        assert run.rc == -9, f"{point}: the run was not killed there (rc {run.rc}): {run.err[-2000:]}"
        home = one_set(out)
        now = view(out)
        if now != before:  # only allowed: the whole new set, made current in one step
            assert point in ("publish:switched", "publish artifacts"), f"{point}: the set changed"
            assert (home / "findings.csv").read_bytes() == nights["findings"], point
            assert (home / "quarantine.csv").read_bytes() == nights["quarantine"], point
            assert json.loads((home / "summary.json").read_text())["as_of"] == NIGHT2, point
            before = now
        # The dead run's partition folder is there; every earlier one went at this run's start.
        assert len(partitions(out)) <= 1, (point, partitions(out))
        # Sets: the current, the previous and at most the dead run's half-built one.
        assert len(list((out / ".sets").iterdir())) <= 3, point
        survived += 1
    run = nightly(fault_env, demo, out, NIGHT2)
    assert run.rc == 0, run.err[-3000:]
    assert (out / "findings.csv").read_bytes() == nights["findings"]
    assert (out / "quarantine.csv").read_bytes() == nights["quarantine"]
    assert partitions(out) == []
    assert len(list((out / ".sets").iterdir())) <= 2  # the current and the previous
    one_set(out)
    # The results database holds each night once (the killed attempts left nothing half-done).
    import sqlite3

    with sqlite3.connect(out / "results.sqlite") as db:
        nights_recorded = db.execute("SELECT as_of FROM runs ORDER BY as_of").fetchall()
        events = db.execute("SELECT count(*) FROM finding_events WHERE as_of = ?", (NIGHT2,)).fetchone()[0]
    assert [n[0] for n in nights_recorded] == [NIGHT1, NIGHT2]
    n_findings = nights["findings"].decode("utf-8-sig").count("\n") - 1
    assert events == n_findings
    assert survived == len(KILL_POINTS)


def test_unreachable_results_database_is_exit_3_before_reading(fault_env, demo, nights):
    out = copy_out(nights["base"], nights["root"] / "unreachable")
    closed = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:9/dvsync_results"
    # Killed if it ever reached the central database: it must stop before.
    run = nightly(
        fault_env,
        demo,
        out,
        NIGHT2,
        "--results",
        closed,
        DVSYNC_RESULTS_RETRIES="1",
        DVSYNC_FAULT_AT="extract central",
    )
    assert run.rc == 3, run.text[-3000:]
    assert run.last_line.startswith("dvsync: ") and "127.0.0.1:9" in run.last_line
    assert "Traceback" not in run.text
    assert "s3cret-pw" not in run.text  # never a password in the logs
    assert view(out) == nights["base_view"]


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {proc.stderr.decode().strip()}")


def _fill(folder: Path, leave: int) -> None:
    """Ballast until only ``leave`` bytes remain free on the filesystem of ``folder``."""
    import os

    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "ballast", "wb") as fh:
        chunk = b"\0" * (1 << 20)
        todo = max(0, free - leave)
        while todo > 0:
            try:
                todo -= fh.write(chunk[: min(len(chunk), todo)])
            except OSError:
                break


def test_full_disk_at_extraction_publication_and_store(fault_env, demo, nights, tmp_path):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "16m")
    try:
        out = copy_out(nights["base"], disk / "out")
        results = tmp_path / "results.sqlite"  # on the big disk: only the files starve
        shutil.move(out / "results.sqlite", results)
        url = f"sqlite:///{results}"
        before = view(out)
        _fill(disk, leave=32 * 1024)

        def exit_3(run) -> None:
            assert run.rc == 3, run.text[-3000:]
            assert run.last_line.startswith("dvsync: "), run.last_line
            assert "Traceback" not in run.text
            assert view(out) == before
            one_set(out)
            assert len(list((out / ".sets").iterdir())) == 1  # a half-built set goes with its run
            assert not list(out.glob(".dvsync-partitions-*"))

        # The partition files (under the output folder by default) fill the disk.
        run = nightly(fault_env, demo, out, NIGHT2, "--results", url)
        exit_3(run)
        assert "nguyên vẹn" in run.last_line and "DVSYNC_WORK_DIR" in run.last_line
        # Partition files elsewhere: the publication fills the disk.
        work = tmp_path / "work"
        work.mkdir()
        run = nightly(fault_env, demo, out, NIGHT2, "--results", url, DVSYNC_WORK_DIR=str(work))
        exit_3(run)
        assert "nguyên vẹn" in run.last_line, run.last_line
        # The store on the full disk: the history cannot be written.
        (disk / "ballast").unlink()
        shutil.copy(results, out / "results.sqlite")
        _fill(disk, leave=0)
        run = nightly(fault_env, demo, out, NIGHT3, DVSYNC_RESULTS_RETRIES="1", DVSYNC_WORK_DIR=str(work))
        exit_3(run)
        assert "CSDL kết quả" in run.last_line, run.last_line
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
