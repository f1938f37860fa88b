"""A watchdog process: when the run that started it dies (even by kill -9), it ends what the run
had started and left behind — the temporary Prefect API server of a bare `dvsync nightly`,
workbook worker processes, anything else of its process tree.

The run's children are re-parented to init when it dies, so they cannot be found afterwards: the
watchdog keeps the list of the run's descendants up to date while the run lives (from /proc, with
each process's start time, so that a reused pid is never killed), and on the run's death sends
them SIGTERM, then SIGKILL to what is still there. Linux only; elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from schemas.settings import settings

_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def _descendants(root: int, me: int) -> dict[int, int]:
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st:
                children.setdefault(st[0], []).append(int(entry.name))
                starts[int(entry.name)] = st[1]
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child != me and child not in found:
                found[child] = starts[child]
                stack.append(child)
    return found


def _alive(pid: int, start: int) -> bool:
    st = _stat(pid)
    return st is not None and st[1] == start


def watch(parent: int, interval: float = 0.5) -> None:
    parent_start = (_stat(parent) or (0, -1))[1]
    me = os.getpid()
    known: dict[int, int] = {}
    while _alive(parent, parent_start):
        known.update(_descendants(parent, me))
        known = {p: s for p, s in known.items() if _alive(p, s)}
        time.sleep(interval)
    left = {p: s for p, s in known.items() if _alive(p, s)}
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        for pid, start in left.items():
            if _alive(pid, start):
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline and any(_alive(p, s) for p, s in left.items()):
            time.sleep(0.1)


def start_watchdog() -> subprocess.Popen | None:
    """Start the watchdog of this process (once; not where /proc is missing)."""
    if not _PROC.joinpath("self", "stat").exists() or settings().no_watchdog:
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "dvsync.watchdog", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or kill of the run's group does not reach the watchdog
        close_fds=True,
    )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]))
