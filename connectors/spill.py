"""Partitioned extraction: the member tables go from the central database straight to per-partition
files, chunk by chunk, in the one read of the nightly snapshot.

``read_central(sink=PartitionSpill(...))`` reads organisations, members and transfers whole; the
spill plans the partitions from them (``connectors.partitions.plan_members``), writes each partition's
members, then routes every chunk of ratings, disciplines, dossier documents, badges and activity
gaps to the partition of its member as it arrives. Memory holds one chunk of a big table, never
the table; each ``reconcile-partition`` task loads only its own partition's files (Arrow IPC,
memory-mapped), wherever it runs. With one partition nothing is written: the chunks are kept in
memory, as a plain read would.

Rows keep their export record number in ``_record`` (quarantine rows name it), so the results are
those of an unpartitioned run, row for row.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.central.base import _pandas_type, _unify, arrow_to_frame
from connectors.partitions import MEMBER_TABLES, RECORD, MemberIndex, partition_slices, plan_members, route
from schemas.contract import CENTRAL_TABLES

log = logging.getLogger("dvsync.spill")


@dataclass(frozen=True)
class SpilledPartition:
    """One partition's member tables in files under ``folder`` (one per table and chunk)."""

    folder: str
    rows: dict[str, int] = field(default_factory=dict)

    def load(self) -> dict[str, pd.DataFrame]:
        """The partition's raw member tables, with ``_record``, as ``split_central`` gives them."""
        frames: dict[str, pd.DataFrame] = {}
        for table in MEMBER_TABLES:
            files = sorted(Path(self.folder).glob(f"{table}-*.arrow"))
            chunks = [pa.ipc.open_file(pa.memory_map(str(f))).read_all() for f in files]
            names = [*CENTRAL_TABLES[table], RECORD]
            frame = arrow_to_frame(_unify(chunks, names))
            frames[table] = frame.astype({RECORD: "int64"}) if len(frame) else frame.assign(**{RECORD: 0})[:0]
        return frames


class PartitionSpill:
    """A ``connectors.central.TableSink`` that partitions the member tables as they are read."""

    streamed = [t for t in MEMBER_TABLES if t != "members"]

    def __init__(self, folder: Path | str, target: int, min_partitions: int = 1) -> None:
        self.folder = Path(folder)
        self.target = target
        self.min_partitions = min_partitions
        self.n = 1
        self.member_part = pd.Series(dtype="int64")
        self._index: MemberIndex | None = None  # the member lookup, built once per run
        self._memory: dict[str, pd.DataFrame] | None = None
        self._rows: list[dict[str, int]] = []

    # -- TableSink ------------------------------------------------------------------------------
    def start(self, frames: dict[str, pd.DataFrame]) -> None:
        self.cleanup()  # a retry starts again from nothing
        members = frames.pop("members", None)
        if members is None:
            members = arrow_to_frame(_unify([], CENTRAL_TABLES["members"]))
        self.n, self.member_part = plan_members(
            members, frames.get("organizations"), self.target, self.min_partitions
        )
        members = members.assign(**{RECORD: np.arange(1, len(members) + 1, dtype=np.int64)})
        self._rows = [{} for _ in range(self.n)]
        if self.n == 1:
            self._memory = {"members": members}
            return
        self._memory = None
        self._index = MemberIndex(self.member_part)  # one hash of the member codes for every chunk
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_split("members", 0, pa.Table.from_pandas(members, preserve_index=False), members)

    def consume(self, table: str, names: list[str], chunks: Iterator[pa.Table]) -> int:
        offset = 0
        kept: list[pa.Table] = []
        for k, chunk in enumerate(chunks):
            numbered = chunk.append_column(
                RECORD, pa.array(np.arange(offset + 1, offset + chunk.num_rows + 1, dtype=np.int64))
            )
            offset += chunk.num_rows
            if self._memory is not None:
                kept.append(numbered)
            else:
                codes = pd.DataFrame({"member_code": _column(chunk, "member_code")})
                self._write_split(table, k, numbered, codes)
        if self._memory is not None:
            frame = arrow_to_frame(_unify(kept, [*names, RECORD]))
            self._memory[table] = frame.astype({RECORD: "int64"})
        return offset

    # -- results --------------------------------------------------------------------------------
    def partitions(self) -> list[dict[str, pd.DataFrame] | SpilledPartition]:
        """What each ``reconcile-partition`` task gets: the frames themselves (one partition) or
        where its files are."""
        if self._memory is not None:
            return [self._memory]
        return [SpilledPartition(str(self._part_dir(p)), self._rows[p]) for p in range(self.n)]

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- internals ------------------------------------------------------------------------------
    def _part_dir(self, p: int) -> Path:
        return self.folder / f"part-{p:04d}"

    def _write_split(self, table: str, k: int, rows: pa.Table, codes: pd.DataFrame) -> None:
        """Route one chunk by member and append each partition's share as one file."""
        index = self.member_part if self._index is None else self._index
        order, bounds = partition_slices(route(codes, index), self.n)
        if order is not None:
            rows = rows.take(pa.array(order))
        for p in range(self.n):
            lo, hi = int(bounds[p]), int(bounds[p + 1])
            piece = rows.slice(lo, hi - lo)
            folder = self._part_dir(p)
            path = str(folder / f"{table}-{k:06d}.arrow")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, piece.schema) as writer:
                    writer.write_table(piece)
            except OSError as exc:  # a full disk or a forbidden folder: exit 3, one line
                from schemas.errors import OutputError

                reason = exc.strerror or " ".join(str(exc).split())[:200]
                raise OutputError(
                    f"không ghi được tệp phân vùng vào {self.folder.parent}: {reason} "
                    "(DVSYNC_WORK_DIR); bộ kết quả đã công bố trước đó vẫn nguyên vẹn"
                ) from None
            self._rows[p][table] = self._rows[p].get(table, 0) + piece.num_rows


def _column(chunk: pa.Table, name: str) -> pd.Series:
    """One column of a chunk as pandas (Arrow-backed, no copy of the strings)."""
    return chunk.column(name).to_pandas(types_mapper=_pandas_type)
