"""bench/memory.py for real: a sampler process reads /proc for the tree of this (the pytest) process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not an installed package

from bench.memory import StageMemory, _has_children_files, _Tree  # noqa: E402

MB = 2**20


def _child(megabytes: int, *argv: str) -> subprocess.Popen:
    """A spawned Python that holds `megabytes` of written memory until its stdin closes."""
    code = f"import sys; b = b'x' * ({megabytes} * 2**20); print('ready', flush=True); sys.stdin.read()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "ready\n"
    return proc


def _wait_samples(mem: StageMemory, n: int) -> None:
    """Until `n` more samples have arrived (all of them taken after this call)."""
    target = mem.samples + n + 1  # +1: one may have been in flight when we were called
    deadline = time.monotonic() + 5
    while mem.samples < target:
        assert time.monotonic() < deadline, "the sampler stopped sending"
        time.sleep(0.005)


def _stop(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=5)


def test_stage_peaks_count_allocations_and_children_but_not_the_prefect_server():
    stage: list[str | None] = [None]
    with StageMemory(lambda: stage[0], interval=0.05) as mem:
        sampler = mem._proc
        _wait_samples(mem, 1)
        stage[0] = "alloc"
        big = np.ones(200 * MB // 8)  # 200 MB, every page written
        _wait_samples(mem, 2)
        stage[0] = "children"
        worker = _child(150)
        server = _child(300, "uvicorn")  # looks like Prefect's API server: left out
        try:
            _wait_samples(mem, 3)
            stage[0] = None
            _wait_samples(mem, 1)
        finally:
            _stop(worker)
            _stop(server)
        del big

    assert mem.peaks["alloc"] > 200 * MB
    assert mem.peaks["children"] >= mem.peaks["alloc"] + 140 * MB  # the worker counted...
    assert mem.peaks["children"] < mem.peaks["alloc"] + 250 * MB  # ...the server not
    assert mem.peak_total == max(mem.peaks.values())
    assert mem.peak_rss >= mem.peak_total

    # the sampler was reaped: no process, no zombie, nothing left under this process
    assert sampler.returncode == 0
    assert not Path(f"/proc/{sampler.pid}").exists()
    assert sampler.pid not in _Tree(os.getpid()).pids()


def test_a_short_run_still_gets_its_peak_from_the_final_sample():
    with StageMemory(lambda: "short", interval=30) as mem:
        big = np.ones(100 * MB // 8)
    assert mem.samples == 2  # the one taken on entry and the final one
    assert mem.peaks["short"] > 100 * MB
    del big


def test_both_ways_of_finding_children_agree():
    worker = _child(1)
    try:
        tree = _Tree(os.getpid())
        assert worker.pid in tree.pids()
        if _has_children_files(os.getpid()):  # CONFIG_PROC_CHILDREN: check the /proc/*/stat scan too
            tree.children_files = False
            assert worker.pid in tree.pids()
    finally:
        _stop(worker)
