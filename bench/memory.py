"""Peak memory of a process tree, sampled per stage.

The measure is PSS (proportional set size, /proc/<pid>/smaps_rollup): pages shared by a parent
and the workers it forked count once, split between them. Summing RSS would count the parent's
data again in every forked worker. The RSS sum is kept too, for comparison.

Sampling runs in a separate, small process (`python bench/memory.py <pid> <interval>`, started
with `subprocess`, never forked off the measured process, which holds GBs and threads). A sampler
thread inside the measured process walked /proc in Python four times a second and competed with
the run for the GIL: a py-spy profile put ~9% of a benchmark night's samples in it, a CPU-bound
main thread lost up to ~18% of its loop iterations beside it, and the thread itself, waiting for
the GIL after each of its hundreds of file reads, managed ~2.6 of its 4 samples a second. The
sampler process writes one line per sample, "<rss> <pss>" in bytes, to its stdout; a thread of the
measured process blocks on those lines (the GIL is released while it waits) and attributes each to
the stage current when it arrives. The sampler stops when its stdin closes: at the end of the
`with` block, or when the measured process dies, so it never outlives it. What remains of its cost
is mostly the kernel's: smaps_rollup walks the page tables (a few ms per GB mapped, per sample),
now charged to the sampler, not to the measured process.

The sampler finds the tree from /proc/<pid>/task/*/children where the kernel has them
(CONFIG_PROC_CHILDREN), otherwise from the parent pid in /proc/*/stat, read only for processes it
has not seen yet (all of them again every few seconds, in case a pid was reused). Prefect's API
server processes (and their children) are left out, as Prefect's cost rather than dvsync's; they
are looked for, by command line, among the tree's processes every few seconds.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time

REFRESH_SECONDS = 3.0  # how often the sampler re-reads every ppid and looks for Prefect servers
_SERVER_MARKERS = (b"uvicorn", b"prefect.server", b"server\x00start")


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of one process, from its smaps_rollup (0, 0 if gone or a zombie)."""
    rss = pss = 0
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith(b"Rss:"):
            rss = int(line.split()[1]) * 1024
        elif line.startswith(b"Pss:"):
            pss = int(line.split()[1]) * 1024
            break  # Pss comes after Rss
    return rss, pss


def _has_children_files(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


class _Tree:
    """The descendants of one pid, found as cheaply as the kernel allows."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.children_files = _has_children_files(root)
        self._ppid: dict[int, int] = {}  # pid -> parent pid (fallback scan only)
        self._servers: set[int] = set()  # Prefect API server pids in the tree
        self._seen: set[int] = set()  # tree pids whose command line was read
        self._young: set[int] = set()  # tree pids first seen at the last sample
        self._refreshed = -float("inf")

    def _children_of(self, pid: int) -> list[int]:
        kids: list[int] = []
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return kids
        for tid in tids:
            try:
                kids.extend(int(k) for k in _read(f"/proc/{pid}/task/{tid}/children").split())
            except (OSError, ValueError):
                continue
        return kids

    def _children_map(self, full: bool) -> dict[int, list[int]]:
        """Parent -> children from /proc/*/stat; only new pids are read unless `full`."""
        if full:
            self._ppid.clear()
        live = set()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            live.add(pid)
            if pid not in self._ppid:
                try:
                    stat = _read(f"/proc/{pid}/stat")
                    self._ppid[pid] = int(stat.rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        for pid in self._ppid.keys() - live:
            del self._ppid[pid]
        children: dict[int, list[int]] = {}
        for pid, ppid in self._ppid.items():
            children.setdefault(ppid, []).append(pid)
        return children

    def pids(self) -> list[int]:
        """The root and its descendants, without Prefect's API servers and what they started."""
        now = time.monotonic()
        refresh = now - self._refreshed >= REFRESH_SECONDS
        if refresh:
            self._refreshed = now
        children = None if self.children_files else self._children_map(full=refresh)
        out: list[int] = []
        seen: set[int] = set()
        stack = [self.root]
        while stack:
            pid = stack.pop()
            seen.add(pid)
            # a command line is read when a process shows up, at the next sample (a child seen
            # between its fork and its exec still had its parent's) and every few seconds after
            if pid != self.root and (refresh or pid not in self._seen or pid in self._young):
                self._check_server(pid)
            if pid in self._servers:  # the Prefect API server is Prefect's cost, not dvsync's
                continue
            out.append(pid)
            stack.extend(self._children_of(pid) if children is None else children.get(pid, ()))
        self._young = seen - self._seen
        if refresh:
            self._servers &= seen
            self._seen = seen
        else:
            self._seen |= seen
        return out

    def _check_server(self, pid: int) -> None:
        try:
            cmd = _read(f"/proc/{pid}/cmdline")
        except OSError:
            return
        if any(marker in cmd for marker in _SERVER_MARKERS):
            self._servers.add(pid)
        else:
            self._servers.discard(pid)  # the pid was reused, or the process exec'd something else


def sample_tree(tree: _Tree) -> tuple[int, int]:
    """(RSS, PSS) bytes summed over the tree."""
    rss = pss = 0
    for pid in tree.pids():
        try:
            r, p = _rss_pss(pid)
        except (OSError, ValueError, IndexError):
            continue
        rss += r
        pss += p
    return rss, pss


def sampler_main(pid: int, interval: float) -> None:
    """Writes "rss pss" for the tree of `pid` every `interval` s until stdin closes, then once more."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the measured process; EOF ends this one

    def emit() -> bool:
        rss, pss = sample_tree(tree)
        try:
            os.write(1, f"{rss} {pss}\n".encode())
        except BrokenPipeError:  # the measured process is gone
            return False
        return True

    tree = _Tree(pid)
    while emit():
        ready, _, _ = select.select([0], [], [], interval)
        if ready and not os.read(0, 4096):  # EOF: the `with` block ended, or the measured process died
            emit()  # the final sample, so that short runs still get a peak
            return


class StageMemory:
    """Samples the memory of this process's tree every `interval` s; keeps the peak of each named stage.

    `.peaks` is stage -> PSS peak, `.peak_total` the PSS peak of the tree, `.peak_rss` its RSS-sum peak
    (all bytes). Samples taken while `current_stage()` returns None count as stage "other"."""

    def __init__(self, current_stage, interval: float = 0.25) -> None:
        self._current = current_stage  # callable -> name of the stage running now
        self.interval = interval
        self.peaks: dict[str, int] = {}  # PSS
        self.peak_total = 0
        self.peak_rss = 0
        self.samples = 0
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def _take(self, line: bytes) -> None:
        rss, pss = (int(v) for v in line.split())
        name = self._current() or "other"
        self.peaks[name] = max(self.peaks.get(name, 0), pss)
        self.peak_total = max(self.peak_total, pss)
        self.peak_rss = max(self.peak_rss, rss)
        self.samples += 1

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:  # blocks without the GIL between samples
            self._take(line)

    def __enter__(self) -> StageMemory:
        # -I -S: the sampler needs nothing but the standard library; it starts faster without site.
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), str(self.interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()  # the sampler works before the measured code starts
        if not first:
            self._proc.wait()
            raise RuntimeError(f"memory sampler exited with {self._proc.returncode} before sampling")
        self._take(first)
        self._thread = threading.Thread(target=self._read, name="StageMemory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._proc is not None and self._proc.stdin is not None and self._thread is not None
        self._proc.stdin.close()  # asks for the final sample and the end
        self._thread.join()  # the sampler's stdout reaches EOF once it has exited
        self._proc.stdout.close()
        self._proc.wait()  # reaped: no zombie left behind


if __name__ == "__main__":
    sampler_main(int(sys.argv[1]), float(sys.argv[2]))
