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
    return subprocess.Popen(
        nightly_cmd(demo, out, as_of, *extra),
        env={**env, **more_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own process group: nothing it started outlives the test
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> Run:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with_group_ended(proc)
    return Run(proc.returncode, out, err)


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
