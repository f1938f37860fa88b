"""Peak memory of a process tree, sampled per stage.

The measure is PSS (proportional set size, /proc/<pid>/smaps_rollup): pages shared by a parent
and the workers it forked count once, split between them. Summing RSS would count the parent's
data again in every forked worker. The RSS sum is kept too, for comparison."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path


def _pss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss_tree(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of `pid` and all its descendants (from /proc)."""
    total = pss = 0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    stack = [pid]
    skip = _prefect_servers()
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        if p in skip:  # the Prefect API server is Prefect's cost, not dvsync's
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            pss += _pss(p)
        stack.extend(children.get(p, []))
    return total, pss


def _prefect_servers() -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"uvicorn" in cmd or b"prefect.server" in cmd or b"server\x00start" in cmd:
                pids.add(int(entry.name))
    return pids


class StageMemory:
    """Samples the RSS of the process tree every `interval` s; keeps the peak of each named stage."""

    def __init__(self, current_stage, interval: float = 0.25) -> None:
        self._current = current_stage  # callable -> name of the stage running now
        self.interval = interval
        self.peaks: dict[str, int] = {}  # PSS
        self.peak_total = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            rss, pss = _rss_tree(pid)
            name = self._current() or "other"
            self.peaks[name] = max(self.peaks.get(name, 0), pss)
            self.peak_total = max(self.peak_total, pss)
            self.peak_rss = max(self.peak_rss, rss)
            time.sleep(self.interval)

    def __enter__(self) -> StageMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
