"""Helpers of the fault suite: run `dvsync nightly` as a subprocess, read what a reader sees."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NIGHT1, NIGHT2, NIGHT3 = "2026-11-16", "2026-11-17", "2026-11-18"
PUBLISHED = ("findings.csv", "quarantine.csv", "summary.json", "committees", "reports")


@dataclass
class Run:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def last_line(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def nightly_cmd(demo: Path, out: Path, as_of: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dvsync.cli",
        "nightly",
        "--central",
        f"sqlite:///{demo / 'central.sqlite'}",
        "--submissions",
        str(demo / "submissions"),
        "--out",
        str(out),
        "--as-of",
        as_of,
        "--partition-members",
        "150",  # 3 partitions, spilled to files: a killed run leaves its partition folder
        *extra,
    ]


def start(env: dict, demo: Path, out: Path, as_of: str, *extra: str, **more_env: str) -> subprocess.Popen:
    """The run in the background; its output goes to files (a full pipe never stalls it)."""
    import tempfile

    logs = [tempfile.TemporaryFile(mode="w+", encoding="utf-8") for _ in range(2)]  # noqa: SIM115
    proc = subprocess.Popen(
        nightly_cmd(demo, out, as_of, *extra),
        env={**env, **more_env},
        stdout=logs[0],
        stderr=logs[1],
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own process group: nothing it started outlives the test
    )
    proc.logs = logs  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen, timeout: float = 300) -> Run:
    try:
        proc.wait(timeout=timeout)
    finally:
        with_group_ended(proc)
    texts = []
    for fh in proc.logs:  # type: ignore[attr-defined]
        fh.seek(0)
        texts.append(fh.read())
        fh.close()
    return Run(proc.returncode, texts[0], texts[1])


def with_group_ended(proc: subprocess.Popen) -> None:
    """Whatever the run started (workers, a temporary server) ends with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(10)


def nightly(env: dict, demo: Path, out: Path, as_of: str, *extra: str, **more_env: str) -> Run:
    return finish(start(env, demo, out, as_of, *extra, **more_env))


def copy_out(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def view(out: Path) -> dict[str, str]:
    """What a reader sees through the contract's paths: {relative path: sha256} of every file."""
    seen: dict[str, str] = {}
    for name in PUBLISHED:
        top = out / name
        if top.is_file():
            seen[name] = hashlib.sha256(top.read_bytes()).hexdigest()
        elif top.is_dir():
            for p in sorted(top.rglob("*")):
                if p.is_file():
                    seen[p.relative_to(out).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return seen


def one_set(out: Path) -> Path:
    """The one set every contract path resolves into (fails on a mixed set)."""
    homes = {(out / name).resolve().parent for name in PUBLISHED}
    assert len(homes) == 1, f"the contract paths point into different sets: {homes}"
    home = homes.pop()
    for name in PUBLISHED:
        assert (home / name).exists(), f"{name} missing from the published set {home}"
    return home


IGNORED = {"started_at", "finished_at", "run_id", "attempts", "last_run_id"}


def history_dump(url: str) -> dict[str, list]:
    """The results database's history (runs, findings, events) without run ids and times."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in ("runs", "findings", "finding_events"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in r.items() if k not in IGNORED)) for r in rows
            )
    engine.dispose()
    return out


def wait_for_lock_holder(lock_file: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Until a run holds the run lock of this SQLite results database (probed with flock)."""
    import fcntl
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"the run ended before taking the lock (rc {proc.returncode})"
        if lock_file.exists():
            fd = os.open(lock_file, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)  # free: not taken yet
            except BlockingIOError:
                return
            finally:
                os.close(fd)
        time.sleep(0.05)
    raise AssertionError("the run never took the lock")
