"""Atomic publication: each run builds a whole set aside, then makes it current in one step.

Layout of ``<out>`` (the contract's paths are stable symbolic links into the current set)::

    .sets/<run_id>/            one complete set: findings.csv, quarantine.csv, summary.json,
                               committees/ (with manifest.json), reports/
    .current -> .sets/<run_id> the published set: replaced by ONE rename (os.replace of a new link)
    .previous -> .sets/<id>    the set published before it (kept for readers still inside it)
    findings.csv -> .current/findings.csv   (also quarantine.csv, summary.json, committees, reports)
    older/<as_of> -> ../.sets/<run_id>      a night older than the published set (newer stays newer)

A run writes only inside its own ``.sets/<run_id>``: unchanged committee workbooks and earlier
board reports are hard links to the current set's files (same bytes, same mtime: "rewritten only
when its content changed" still holds), changed ones are new files. When everything is written
and fsynced, ``.current`` is switched. A kill or a full disk at any instant therefore leaves the
previous set or the new one, never a mix; a reader opening ``<out>/findings.csv`` just works.
Sets other than the current, the previous and those under ``older/`` are removed (at the next
start too, for the half-built set of a dead run: the caller holds the run lock).

An output folder of the earlier layout (real files) is moved into ``.sets/0-legacy`` once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
from pathlib import Path

from connectors.durable import fsync_dir

log = logging.getLogger("dvsync.publish")

SETS = ".sets"
CURRENT = ".current"
PREVIOUS = ".previous"
OLDER = "older"
LEGACY = "0-legacy"
PUBLISHED = ("findings.csv", "quarantine.csv", "summary.json", "committees", "reports")
CARRIED = ("committees", "reports")  # trees carried from the current set by hard links


def _replace_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one rename (readers see the old target or the new)."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _set_of(link: Path) -> Path | None:
    """The set a link of the layout points to, if it is one and exists."""
    try:
        target = Path(os.readlink(link))
    except OSError:
        return None
    path = (link.parent / target).resolve()
    return path if path.is_dir() else None


def _as_of(set_dir: Path | None) -> str | None:
    if set_dir is None:
        return None
    try:
        return json.loads((set_dir / "summary.json").read_text(encoding="utf-8")).get("as_of")
    except (OSError, ValueError, AttributeError):
        return None


class Release:
    """One run's publication into ``out`` (see the module docstring)."""

    def __init__(self, out: Path | str, run_id: str, as_of: str) -> None:
        self.out = Path(out)
        self.run_id = run_id
        self.as_of = as_of
        self.sets = self.out / SETS
        self.dir = self.sets / run_id

    # -- state ---------------------------------------------------------------------------------
    def current(self) -> Path | None:
        return _set_of(self.out / CURRENT)

    def current_as_of(self) -> str | None:
        return _as_of(self.current())

    def keep(self) -> set[Path]:
        """Sets still referenced: current, previous, every older/<as_of>."""
        keep = {p for p in (_set_of(self.out / CURRENT), _set_of(self.out / PREVIOUS)) if p}
        older = self.out / OLDER
        if older.is_dir():
            keep |= {p for link in older.iterdir() if (p := _set_of(link))}
        return keep

    # -- steps ---------------------------------------------------------------------------------
    def begin(self) -> Path:
        """Prepare this run's set folder (carrying the current set's unchanged files); return it."""
        self.migrate_legacy()
        self.prune()  # half-built sets of dead runs (the run lock is held)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        current = self.current()
        if current is not None:
            for name in CARRIED:
                if (current / name).is_dir():
                    _link_tree(current / name, self.dir / name)
        return self.dir

    def commit(self) -> bool:
        """Make the set current (True), or, when the published set is of a later date, publish it
        beside under ``older/<as_of>`` (False). Either in one rename, after an fsync of the set."""
        _fsync_tree(self.dir)
        fsync_dir(self.sets)
        published = self.current_as_of()
        made_current = published is None or self.as_of >= published
        if made_current:
            before = self.current()
            if before is not None and before != self.dir.resolve():
                _replace_link(self.out / PREVIOUS, os.path.relpath(before, self.out))
            _replace_link(self.out / CURRENT, f"{SETS}/{self.run_id}")  # THE step
            self.ensure_links()
        else:
            older = self.out / OLDER
            older.mkdir(exist_ok=True)
            _replace_link(older / self.as_of, f"../{SETS}/{self.run_id}")
            fsync_dir(older)
        fsync_dir(self.out)
        self.prune()
        return made_current

    def abort(self) -> None:
        """Forget a set that could not be finished (the published one is untouched)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- layout --------------------------------------------------------------------------------
    def ensure_links(self) -> None:
        """The contract's paths as links into ``.current`` (idempotent)."""
        for name in PUBLISHED:
            link = self.out / name
            target = f"{CURRENT}/{name}"
            if link.is_symlink() and os.readlink(link) == target:
                continue
            if link.exists() and not link.is_symlink():
                continue  # a real file of the earlier layout: migrate_legacy moves it first
            _replace_link(link, target)

    def migrate_legacy(self) -> None:
        """Move the outputs of the earlier layout (real files in ``out``) into a set of their own
        and make it current, so the next switch is as atomic as any. Idempotent: a kill half-way
        is finished at the next start."""
        real = [n for n in PUBLISHED if (self.out / n).exists() and not (self.out / n).is_symlink()]
        if not real:
            if self.current() is not None:
                self.ensure_links()
            return
        legacy = self.sets / LEGACY
        legacy.mkdir(parents=True, exist_ok=True)
        for name in real:
            dest = legacy / name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            os.replace(self.out / name, dest)
        fsync_dir(legacy)
        if self.current() is None:
            _replace_link(self.out / CURRENT, f"{SETS}/{LEGACY}")
        self.ensure_links()
        fsync_dir(self.out)
        log.info("Đã chuyển %d tệp kết quả cũ vào %s", len(real), legacy)

    def prune(self) -> list[Path]:
        """Remove every set no longer referenced (never this run's own)."""
        if not self.sets.is_dir():
            return []
        keep = self.keep() | {self.dir.resolve()}
        gone = []
        for path in self.sets.iterdir():
            if path.resolve() not in keep:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
                gone.append(path)
        return gone


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link every file of ``src`` under ``dst`` (staging leftovers excluded)."""
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            if not name.startswith("."):
                link_or_copy(Path(root) / name, dst / rel / name)


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link; a copy keeping the modification time where the filesystem has none."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise  # a full disk is not a reason to copy
        shutil.copy2(src, dst)


def _fsync_tree(top: Path) -> None:
    """fsync every file written by this run (hard-linked ones are already on disk) and folder."""
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = Path(root) / name
            if path.stat().st_nlink > 1:
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))
