"""The guarded worker processes that read and validate workbooks: one pool kept for the run,
a memory limit in each worker, workers that die with their parent, and a chunk that breaks its
worker (native abort, memory, time) parsed again in halves down to the one guilty file."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from connectors.workbooks.listing import _checksum_or_empty
from connectors.workbooks.naming import safe_name
from connectors.workbooks.results import _Batch, _merge_batches, _results_of, _split_batch
from connectors.workbooks.validate import _parse_chunk, _validate_batch
from schemas.contract import SHEETS
from schemas.datasets import WorkbookResult
from schemas.settings import settings

_WARM: list[bool] = []


def _warm_up() -> None:
    """Validate a made-up workbook once in this process, before the workers are forked: the first
    validation imports Pandera's backends and builds the schemas (~0.5 s), which every worker of
    every batch's pool would otherwise pay again."""
    if _WARM:
        return
    raws = {s: ({c: ["1", None, "x"] for c in SHEETS[s].values()}, [2, 3, 4], []) for s in SHEETS}
    meta = {
        "period": "2026-01",
        "cell_code": "x",
        "rows_read": {},
        "rows_accepted": {},
        "rows_quarantined": {},
    }
    _validate_batch([{"path": Path("x"), "source": "x", "error": None, "meta": meta, "raws": raws}])
    _WARM.append(True)


def _parse_all(
    paths: list[Path], sources: list[str], workers: int, whole_chunks: bool = False, isolate: bool = False
) -> list[WorkbookResult]:
    """Files are read and validated in worker processes, a chunk of workbooks per task (one
    vectorised validation per chunk); the chunks are split per workbook here as they come back,
    or, with ``whole_chunks``, left whole for the store (each result's ``rows`` says where its
    rows are).

    A crash costs one file: the workers run with a memory limit and die with their parent; a
    chunk whose worker died (native abort, memory error) or that ran past its time limit is
    parsed again in halves, down to the one file that breaks, which gets its own line. With
    ``workers`` <= 1, no pool running and no ``isolate``, a few files are parsed here (the
    pre-parse checks still hold every file the reader could choke on); the night always isolates."""
    split = _results_of if whole_chunks else _split_batch
    if not paths:
        return []
    if not isolate and workers <= 1 and not _POOL and len(paths) < 8:
        return split(_parse_chunk(paths, sources))
    # A validation pass has a fixed cost (~0.2 s of pandas and Pandera calls): one chunk per
    # worker (measured faster than two, whose smaller passes cost more than the overlap gains),
    # at most 1,000 workbooks so that a whole folder still comes back in pieces.
    n_workers = max(1, workers)
    size = max(8, min(1000, -(-len(paths) // n_workers)))
    chunks = [(paths[i : i + size], sources[i : i + size]) for i in range(0, len(paths), size)]
    try:
        batches = _guarded_chunks(chunks, n_workers)
    except (OSError, AssertionError, ValueError):
        # No process could be started (memory, limits, a daemonic Dask worker): parse here.
        close_worker_pool()
        return split(_parse_chunk(paths, sources))
    results: list[WorkbookResult] = []
    for batch in batches:
        results.extend(split(batch))
    return results


# The limits of one parse in a worker: memory above what the worker inherits, and time.
WORKER_MEMORY_MB = settings().workbook_memory_mb
CHUNK_SECONDS = 60.0  # + FILE_SECONDS per workbook of the chunk
FILE_SECONDS = 0.5


def _chunk_timeout(n: int) -> float:
    return CHUNK_SECONDS + FILE_SECONDS * n


def _guarded_chunks(chunks: list[tuple[list[Path], list[str]]], workers: int) -> list[_Batch]:
    """Every chunk parsed in the pool, in order; a chunk that broke its worker or ran out of time
    is bisected (``_isolate``) so that only the guilty file is lost."""
    pool = worker_pool(workers)
    futures = [pool.submit(_parse_chunk, p, s) for p, s in chunks]
    out: list[_Batch | None] = [None] * len(chunks)
    broken: list[int] = []
    for k, fut in enumerate(futures):
        try:
            out[k] = fut.result(timeout=_chunk_timeout(len(chunks[k][0])))
        except FutureTimeout:
            _kill_pool()  # a worker is stuck in native code: only killing it stops it
            broken.append(k)
        except BrokenProcessPool:
            broken.append(k)
    if broken:
        _kill_pool()
        for k in broken:
            out[k] = _isolate(*chunks[k], workers)
    return [b for b in out if b is not None]


def _isolate(paths: list[Path], sources: list[str], workers: int) -> _Batch:
    """Parse a chunk that broke the pool again, in halves, one at a time, down to single files:
    a file that still breaks its worker alone gets a file-level fault; the others are read."""
    if len(paths) == 1:
        fault = _run_alone(paths, sources, workers)
        if isinstance(fault, _Batch):
            return fault
        name = safe_name(paths[0].name)
        message = (
            f"Tệp {name}: đọc tệp quá {_chunk_timeout(1):.0f} giây — không đọc; lưu lại bằng Excel rồi gửi lại"
            if fault == "timeout"
            else f"Tệp {name}: tệp làm trình đọc Excel dừng đột ngột (hết bộ nhớ hoặc lỗi nội bộ) — không đọc; "
            "lưu lại bằng Excel theo mẫu rồi gửi lại"
        )
        checksum = _checksum_or_empty(paths[0])
        return _Batch(
            files=[
                {"path": paths[0], "source": sources[0], "error": message, "meta": {"checksum": checksum}}
            ],
            sheets={},
            quarantine={},
        )
    batch = _run_alone(paths, sources, workers)
    if isinstance(batch, _Batch):
        return batch
    mid = len(paths) // 2
    return _merge_batches(
        [_isolate(paths[:mid], sources[:mid], workers), _isolate(paths[mid:], sources[mid:], workers)]
    )


def _run_alone(paths: list[Path], sources: list[str], workers: int) -> _Batch | str:
    """One chunk alone in a fresh pool -> its batch, or "timeout" / "crash"."""
    pool = worker_pool(workers)
    fut = pool.submit(_parse_chunk, paths, sources)
    try:
        return fut.result(timeout=_chunk_timeout(len(paths)))
    except FutureTimeout:
        _kill_pool()
        return "timeout"
    except BrokenProcessPool:
        _kill_pool()
        return "crash"


_POOL: dict[int, ProcessPoolExecutor] = {}
_PR_SET_PDEATHSIG = 1


def _worker_init(parent: int, memory_mb: int) -> None:
    """In each worker, first: die with the parent (a kill -9 of the run leaves no worker behind),
    and a memory limit above what the worker inherited (a file that asks the reader for more
    fails alone: MemoryError, or the worker dies and the file is found by ``_isolate``)."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still ends the workers
        pass
    if parent and os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if memory_mb > 0:
        try:
            import resource

            used = 0
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmData:"):
                        used = int(line.split()[1]) * 1024
            limit = used + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        except (OSError, ValueError, ImportError):
            pass


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The process pool that parses workbooks, started once and kept for every batch of the run
    (a pool per batch paid the start and the warm-up each time). Its processes are forked at
    once, here, from the thread that asks first (the flow asks before it starts any other); a
    pool replaced after a crash starts its workers from a fork server (a fork from a task thread
    could copy a lock held by another thread)."""
    pool = _POOL.get(workers)
    if pool is None:
        close_worker_pool()
        _warm_up()
        import multiprocessing as mp

        ctx = None
        if _CRASHED:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["connectors.workbooks"])
        pool = _POOL[workers] = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            # A fork server's workers are its children (it ends with the run): no parent check.
            initargs=(0 if ctx is not None else os.getpid(), WORKER_MEMORY_MB),
        )
        list(pool.map(int, range(workers)))  # start every process now
    return pool


_CRASHED: list[bool] = []


def _kill_pool() -> None:
    """End the pool at once, its workers killed (a stuck or broken pool never joins)."""
    if not _CRASHED:
        _CRASHED.append(True)
    for pool in _POOL.values():
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):  # already gone
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)
    _POOL.clear()


def close_worker_pool() -> None:
    for pool in _POOL.values():
        pool.shutdown(wait=True, cancel_futures=True)
    _POOL.clear()
