"""Partitions of one run: chunks of grassroots organisations, kept together by province-level committee.

A partition holds the members of its cells and every row keyed by those members (ratings,
disciplines, dossier documents, badges, activity gaps; the cells' SinhHoat and DanhGia rows).
Validation and the member-level rules run per partition, so a run's memory holds one partition's
big tables at a time and the partitions can run on several workers (Dask). What crosses
partitions (transfers, rosters, duplicates) is reconciled once over the whole tree.

Pure functions: DataFrames in, DataFrames out; no I/O.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contract import CENTRAL_TABLES, GRASSROOTS_KINDS
from schemas.datasets import SubmissionData
from schemas.normalize import clean_code, restore_org_code
from schemas.tree import OrgTree

# Tables routed by member: everything keyed by member_code. Organisations and transfers are
# small and cross partitions (a transfer has two ends), so they stay whole.
MEMBER_TABLES = ["members", "ratings", "disciplines", "dossier_documents", "badges", "activity_gaps"]
GLOBAL_TABLES = [t for t in CENTRAL_TABLES if t not in MEMBER_TABLES]
RECORD = "_record"  # 1-based record number in the export: quarantine rows name it, whatever the partition


def plan_partitions(organizations: pd.DataFrame, cell_members: pd.Series, target: int) -> pd.Series:
    """cell_code -> partition number (0..n-1).

    Grassroots organisations are taken in tree order (province-level committee, then code) and
    packed into partitions of about ``target`` members; a committee larger than ``target`` is cut
    into chunks of its grassroots organisations. ``cell_members``: members per cell code.
    """
    tree = OrgTree.of(organizations)  # each code once; rows without a code left out
    kinds = organizations.dropna(subset=["org_code"]).drop_duplicates("org_code")["kind"]
    # A root: no parent, or a parent that is not in the table. Level 1: the children of a root
    # (province-level committees). A cycle has neither: its cells keep no committee (""), and
    # validation quarantines the cycle.
    is_root = tree.parent < 0
    level1 = ~is_root & is_root[np.maximum(tree.parent, 0)]
    grassroots_kind = kinds.isin(GRASSROOTS_KINDS).fillna(False).to_numpy(dtype=bool)
    codes = pd.Series(tree.codes.to_numpy(dtype=object), index=tree.codes, dtype="string")
    upper, grassroots = (_nearest_codes(codes, tree.nearest(mask)) for mask in (level1, grassroots_kind))
    cells = pd.DataFrame({"cell_code": cell_members.index.astype("string"), "n": cell_members.to_numpy()})
    cells["grassroots"] = cells["cell_code"].map(grassroots).fillna(cells["cell_code"])
    cells["upper"] = cells["cell_code"].map(upper).astype("string").fillna("")
    units = (
        cells.groupby(["upper", "grassroots"], sort=True)["n"].sum().reset_index()
    )  # grassroots orgs in tree order
    if units.empty:
        return pd.Series(dtype="int64", index=pd.Index([], dtype="string", name="cell_code"))
    target = max(int(target), 1)
    # Greedy packing in tree order: a new partition when the next grassroots organisation would
    # pass the target, or at a new province-level committee that would not fit whole.
    committee_size = units.groupby("upper")["n"].sum()
    part = np.zeros(len(units), dtype=np.int64)
    filled, p, prev_upper = 0, 0, None
    for i, (u, n) in enumerate(zip(units["upper"].tolist(), units["n"].tolist(), strict=True)):
        whole = committee_size[u] if u != prev_upper else n
        if filled and filled + max(n, whole) > target:
            p, filled = p + 1, 0
        part[i] = p
        filled += n
        prev_upper = u
    unit_part = pd.Series(part, index=pd.MultiIndex.from_frame(units[["upper", "grassroots"]]))
    key = pd.MultiIndex.from_frame(cells[["upper", "grassroots"]])
    return pd.Series(unit_part.reindex(key).to_numpy(), index=pd.Index(cells["cell_code"], name="cell_code"))


def _nearest_codes(codes: pd.Series, found: np.ndarray) -> pd.Series:
    """org_code -> the code at each position of ``found`` (OrgTree.nearest), organisations
    without one left out."""
    hit = found >= 0
    return pd.Series(codes.to_numpy()[found[hit]], index=codes.index[hit], dtype="string")


def member_partitions(
    members: pd.DataFrame, cell_partition: pd.Series, cell: pd.Series | None = None
) -> pd.Series:
    """member_code (normalised) -> partition: the partition of the member's cell. A code found in
    several rows (a duplicate validation will quarantine) follows its first row, so every row of a
    member lands in one partition; a cell outside the tree goes to partition 0. ``cell``: the
    members' cell codes already restored (saves doing it twice)."""
    code = clean_code(members["member_code"])
    cell = restore_org_code(members["cell_code"]) if cell is None else cell
    part = cell.map(cell_partition).fillna(0).astype("int64")
    first = pd.DataFrame({"code": code, "part": part.to_numpy()}).dropna(subset=["code"])
    return first.drop_duplicates("code").set_index("code")["part"]


class MemberIndex:
    """member code -> partition, with the lookup built once per run and reused for every chunk of
    every member table (``pc.index_in`` would hash every member code again for each chunk).

    Codes of 1-17 ASCII digits (the usual member code) are looked up as integers (the digits and
    the length, so "012" and "12" stay apart) in a hash index of int64 built once; any other code
    in a second index of the remaining codes, also built once."""

    def __init__(self, member_partition: pd.Series) -> None:
        self.parts = member_partition.to_numpy(dtype=np.int64)
        keys = _arrow(pd.Series(member_partition.index.astype("string"), copy=False))  # no copy when Arrow
        numeric, ok = _numeric_keys(keys)
        self._num_pos = np.flatnonzero(ok)
        self._num = pd.Index(numeric[ok])
        self._other_pos = np.flatnonzero(~ok)
        other = keys.filter(pa.array(~ok)).to_numpy(zero_copy_only=False) if len(self._other_pos) else []
        self._other = pd.Index(np.asarray(other, dtype=object))
        for index in (self._num, self._other):
            index.get_indexer(index[:1])  # builds the hash table now, once

    def __len__(self) -> int:
        return len(self.parts)

    def lookup(self, codes: pa.Array) -> np.ndarray:
        """Partition of each code, -1 where the code is not a member's."""
        out = np.full(len(codes), -1, dtype=np.int64)
        numeric, ok = _numeric_keys(codes)
        if ok.any():
            pos = self._num.get_indexer(numeric[ok])
            out[ok] = np.where(pos >= 0, self.parts[self._num_pos[np.maximum(pos, 0)]], -1)
        rest = ~ok & ~np.asarray(codes.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if rest.any() and len(self._other):
            values = codes.filter(pa.array(rest)).to_numpy(zero_copy_only=False)
            pos = self._other.get_indexer(np.asarray(values, dtype=object))
            out[rest] = np.where(pos >= 0, self.parts[self._other_pos[np.maximum(pos, 0)]], -1)
        return out


_DIGITS = r"^[0-9]{1,17}$"


def _numeric_keys(codes: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 key, is-digits mask): the digits' value times 32 plus their count, for codes of
    1-17 ASCII digits (injective: < 10**17 * 32 < 2**63); 0 and False for the others."""
    ok = pc.fill_null(pc.match_substring_regex(codes, _DIGITS), False)
    value = pc.cast(pc.if_else(ok, codes, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    length = pc.fill_null(pc.utf8_length(codes), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    mask = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(mask, value * 32 + length, 0), mask


def route(
    rows: pd.DataFrame, member_partition: pd.Series | MemberIndex, column: str = "member_code"
) -> np.ndarray:
    """Partition of every row by its member code (normalised as validation will); rows of an
    unknown member go to partition 0, where validation and the rules see them as before.
    ``member_partition``: the member -> partition map, or its ``MemberIndex`` (built once and
    reused when routing many chunks)."""
    if rows.empty or column not in rows.columns or len(member_partition) == 0:
        return np.zeros(len(rows), dtype=np.int64)
    index = member_partition if isinstance(member_partition, MemberIndex) else MemberIndex(member_partition)
    codes = rows[column].astype("string")
    # Most codes are already clean: look them up as they are, normalise only the ones not found
    # ("12345.0", " 12345").
    where = index.lookup(_arrow(codes))
    miss = where < 0
    if miss.any():
        where[miss] = index.lookup(_arrow(clean_code(codes[miss])))
    return np.where(where < 0, 0, where)


def _arrow(s: pd.Series) -> pa.Array:
    """The Arrow array under an Arrow-backed string Series (no copy), else a converted one."""
    try:
        arr = pa.array(s.array)
    except (TypeError, pa.ArrowInvalid):
        arr = pa.array(s.to_numpy(na_value=None), pa.string())
    return arr.cast(pa.string()) if arr.type != pa.string() else arr


def plan_members(
    members: pd.DataFrame, organizations: pd.DataFrame, target: int, min_partitions: int = 1
) -> tuple[int, pd.Series]:
    """The partitions of a run from its raw members and organisations: (how many, the member ->
    partition map). One partition: an empty map (nothing to route)."""
    if organizations is None or members is None or members.empty:
        return 1, pd.Series(dtype="int64")
    member_cell = restore_org_code(members["cell_code"])
    cells = member_cell.value_counts(dropna=True)
    org_view = pd.DataFrame(
        {
            "org_code": restore_org_code(organizations["org_code"]),
            "parent_code": restore_org_code(organizations["parent_code"]),
            "kind": organizations["kind"].astype("string").str.strip(),
        }
    )
    total = int(cells.sum())
    target = min(int(target), max(-(-total // max(min_partitions, 1)), 1))
    cell_part = plan_partitions(org_view, cells, target)
    n = int(cell_part.max()) + 1 if len(cell_part) else 1
    if n == 1:
        return 1, pd.Series(dtype="int64")
    return n, member_partitions(members, cell_part, member_cell)


def partition_slices(where: np.ndarray, n: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Rows grouped by partition: (the gather order, or None when the rows are already grouped;
    the n + 1 bounds of each partition's run of rows in that order)."""
    order = None
    if len(where) and not (np.diff(where) >= 0).all():
        order = np.argsort(where, kind="stable")
        where = where[order]
    return order, np.searchsorted(where, np.arange(n + 1))


def split_central(
    raw: dict[str, pd.DataFrame], target: int, min_partitions: int = 1
) -> tuple[dict[str, pd.DataFrame], list[dict[str, pd.DataFrame]], pd.Series]:
    """The raw central tables -> (whole tables, one dict of member tables per partition, the
    member -> partition map), all in memory (the flow streams them to files instead:
    connectors.spill). Rows keep their export record number in ``_record``. With more than one
    partition the member tables are moved out of ``raw`` (memory)."""
    whole = {t: raw[t] for t in GLOBAL_TABLES if t in raw}
    n, member_part = plan_members(raw.get("members"), raw.get("organizations"), target, min_partitions)
    if n == 1:  # one partition: nothing to route
        return whole, [{t: _numbered(raw[t]) for t in MEMBER_TABLES if t in raw}], member_part
    parts: list[dict[str, pd.DataFrame]] = [{} for _ in range(n)]
    index = MemberIndex(member_part)  # built once for every table
    for t in MEMBER_TABLES:
        if t not in raw:
            continue
        # Taken out of ``raw``: a table's unsplit copy goes as soon as its partitions exist, so
        # memory never holds the whole export twice.
        frame = _numbered(raw.pop(t))
        order, bounds = partition_slices(route(frame, index), n)
        if order is not None:
            frame = frame.take(order)  # one gather; exports already in tree order skip it
        for p in range(n):
            parts[p][t] = frame.iloc[bounds[p] : bounds[p + 1]]
    return whole, parts, member_part


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    if RECORD in frame.columns:
        return frame
    return frame.assign(**{RECORD: np.arange(1, len(frame) + 1)})


def route_rows(rows: pd.DataFrame, member_partition: pd.Series | MemberIndex, n: int) -> list[pd.DataFrame]:
    """Submission rows (SinhHoat, DanhGia) split by the partition of their member."""
    where = route(rows, member_partition)
    return [rows[where == p] for p in range(n)]


def split_submissions(subs: SubmissionData, member_partition: pd.Series, n: int) -> list[SubmissionData]:
    """What each partition's member rules read of the submissions: every workbook, and the
    SinhHoat and DanhGia rows of its own members (the other sheets are for the tree rules)."""
    index = member_partition if len(member_partition) == 0 else MemberIndex(member_partition)
    activity = route_rows(subs.activity, index, n)
    screening = route_rows(subs.screening, index, n)
    unused = {
        t: df.iloc[:0] for t, df in subs.tables().items() if t not in ("workbooks", "activity", "screening")
    }
    return [
        replace(subs, activity=a, screening=s, **unused) for a, s in zip(activity, screening, strict=True)
    ]
