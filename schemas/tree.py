"""The organisation tree, in one place: parent links, ancestors, subtrees, depth, and its faults.

At the bottom floor (pandas, numpy and the standard library only): validation, the rules,
partition planning and publication all walk the tree through this module.

The tree is held as integer positions: ``codes`` (each organisation code once, first row kept)
and ``parent`` (the position of each one's parent, -1 at a top: a null ``parent_code``, or one
that is not in the table). Every walk is vectorised, one numpy step per level, and bounded:

- cycles are found by pointer jumping (``ceil(log2(n + 1))`` squarings of the parent map: after
  them a chain that ends has reached -1, a chain that does not is caught in a cycle), so a cycle
  anywhere, even with no root at all, never loops and never walks further than ``n`` steps;
- a level-by-level walk stops at a top, when it comes back to where it started (a revisit), or
  after ``MAX_DEPTH`` levels. The real tree is 5-6 levels deep (province, upper committee,
  grassroots organisation, cell); validation rejects organisations deeper than ``MAX_DEPTH``, so
  on a validated tree the bound never cuts a chain.

Organisation codes are data, never paths: ``safe_org_codes`` checks them against the contract's
``ORG_CODE_PATTERN`` before any of them becomes a folder name (``connectors.publish.xlsx``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contract import ORG_CODE_MAX_LENGTH, ORG_CODE_PATTERN, RESERVED_FILE_NAMES

MAX_DEPTH = 64  # levels below a top; the real tree has 5-6 (see the module docstring)
CYCLE_SHOWN = 6  # codes of a cycle printed in a quarantine message before "…"


# --- codes ----------------------------------------------------------------------------------------
def safe_org_codes(codes: pd.Series) -> pd.Series:
    """True where a code may name a folder and a file: it matches ``ORG_CODE_PATTERN`` (ASCII
    letters and digits in groups joined by one ``.``, ``-`` or ``_``: no ``..``, no slash, no
    space or control character), is at most ``ORG_CODE_MAX_LENGTH`` characters, and is not a
    Windows device name (``CON``, ``NUL``, ``COM1``… also before a dot: ``CON.001``). NA -> False."""
    arr = _arrow(codes)
    ok = pc.match_substring_regex(arr, f"^(?:{ORG_CODE_PATTERN})$").fill_null(False)
    ok = pc.and_(ok, pc.less_equal(pc.utf8_length(arr), ORG_CODE_MAX_LENGTH).fill_null(False))
    reserved = pc.match_substring_regex(arr, _RESERVED, ignore_case=True).fill_null(False)
    ok = pc.and_(ok, pc.invert(reserved))
    return pd.Series(ok.to_numpy(zero_copy_only=False), index=codes.index, dtype=bool)


_RESERVED = "^(?:" + "|".join(sorted(RESERVED_FILE_NAMES)) + r")(?:\.|$)"


def _arrow(s: pd.Series) -> pa.Array:
    """Text as an Arrow string array (NA -> null), for the RE2 and hash kernels."""
    s = s.astype("string")
    return pa.array(s.astype(object).where(s.notna(), None), pa.string())


def is_safe_org_code(code: object) -> bool:
    """``safe_org_codes`` for one value (the publication's last check before building a path)."""
    return isinstance(code, str) and bool(safe_org_codes(pd.Series([code], dtype="string")).iloc[0])


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown_code(codes: pd.Series, limit: int = 80) -> pd.Series:
    """Codes as a message may print them: control characters (a NUL byte) written as ``\\x00``,
    cut to ``limit`` characters. Vectorised over the (few) faulty codes."""
    s = codes.astype("string")
    odd = s.str.contains(_CONTROL.pattern, regex=True).fillna(False).astype(bool)
    if odd.any():
        s = s.copy()
        s[odd] = [_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", v) for v in s[odd]]
    long = (s.str.len() > limit).fillna(False).astype(bool)
    if long.any():
        s = s.mask(long, s.str.slice(0, limit - 1) + "…")
    return s


# --- the tree -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OrgTree:
    """The parent map of an organisation table, as integer positions (see the module docstring)."""

    codes: pd.Index  # every organisation code once, in table order
    parent: np.ndarray  # int64 position of the parent, -1 at a top
    parent_code: pd.Series  # the parent code as written (NA at a root), aligned with ``codes``

    @classmethod
    def of(cls, organizations: pd.DataFrame) -> OrgTree:
        """The tree of ``organizations`` (columns ``org_code``, ``parent_code``). Rows without a
        code are left out; a code given twice keeps its first row (validation rejects the others)."""
        orgs = organizations[["org_code", "parent_code"]].astype("string")
        orgs = orgs[orgs["org_code"].notna()].drop_duplicates("org_code")
        codes = pd.Index(orgs["org_code"].to_numpy(dtype=object), dtype="object")
        parent_code = pd.Series(orgs["parent_code"].to_numpy(), index=codes, dtype="string")
        parent = codes.get_indexer(parent_code.astype(object).where(parent_code.notna(), None))
        return cls(codes, parent.astype(np.int64), parent_code)

    def __len__(self) -> int:
        return len(self.codes)

    # -- cycles and depth (pointer jumping: log2(n) vectorised rounds) -----------------------------
    @cached_property
    def _far(self) -> np.ndarray:
        """parent applied 2**k >= n + 1 times: -1 where the chain reaches a top, else a position
        on the cycle the chain is caught in."""
        nxt = self.parent.copy()
        for _ in range(_rounds(len(self))):
            nxt = _step(nxt, nxt)
        return nxt

    @cached_property
    def cyclic(self) -> np.ndarray:
        """True for an organisation on a cycle or below one: its chain never reaches a top."""
        return self._far >= 0

    @cached_property
    def on_cycle(self) -> np.ndarray:
        """True for an organisation on a cycle itself (A parent B, B parent A; A parent A)."""
        mask = np.zeros(len(self), dtype=bool)
        mask[np.unique(self._far[self._far >= 0])] = True
        return mask

    @cached_property
    def depth(self) -> np.ndarray:
        """Levels below the top of its chain (0 at a top); -1 on or below a cycle."""
        depth = (self.parent >= 0).astype(np.int64)
        nxt = self.parent.copy()
        for _ in range(_rounds(len(self))):  # list ranking: distances double each round
            ok = nxt >= 0
            depth = depth + np.where(ok, depth[np.where(ok, nxt, 0)], 0)
            nxt = _step(nxt, nxt)
        return np.where(self.cyclic, -1, depth)

    @cached_property
    def top(self) -> np.ndarray:
        """Position of the top of each chain (itself at a top); -1 on or below a cycle."""
        top = np.where(self.parent >= 0, self.parent, np.arange(len(self)))
        for _ in range(_rounds(len(self))):
            top = top[top]
        return np.where(self.cyclic, -1, top)

    def cycle_text(self) -> pd.Series:
        """For each organisation on a cycle, the cycle as read from it: ``A → B → A`` (at most
        ``CYCLE_SHOWN`` codes, then ``…``); empty elsewhere. Vectorised over the cycle's rows."""
        pos = np.flatnonzero(self.on_cycle)
        out = pd.Series("", index=self.codes, dtype="string")
        if not len(pos):
            return out
        codes = self.codes.to_numpy(dtype=object)
        text = pd.Series(codes[pos], dtype="string")
        cur, back = pos.copy(), np.zeros(len(pos), dtype=bool)
        for _ in range(CYCLE_SHOWN):
            cur = self.parent[cur]
            step = pd.Series(codes[cur], dtype="string")
            text = text.where(back, text + " → " + step)
            back |= cur == pos
        text = text.where(back, text + " → …")
        out.iloc[pos] = text.to_numpy()
        return out

    # -- walks -------------------------------------------------------------------------------------
    def levels(self, max_depth: int = MAX_DEPTH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(organisation, ancestor) positions level by level, itself first (level 0), each level in
        table order. A chain ends at a top, when it comes back to its start, or after
        ``max_depth`` levels (only on or below a cycle, or in a tree validation rejected)."""
        org = np.arange(len(self))
        yield org, org
        cur = self.parent
        # A chain caught in a cycle stops when it comes back to where it entered the cycle.
        cyclic = self.on_cycle if self.cyclic.any() else None
        entry = np.full(len(org), -1, dtype=np.int64)
        for _ in range(max_depth):
            keep = (cur >= 0) & (cur != org) & (cur != entry)
            org, cur, entry = org[keep], cur[keep], entry[keep]
            if not len(org):
                return
            yield org, cur
            if cyclic is not None:
                entry = np.where((entry < 0) & cyclic[cur], cur, entry)
            cur = self.parent[cur]

    def ancestor_positions(self, max_depth: int = MAX_DEPTH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (organisation, ancestor, level) as arrays, each organisation its own ancestor at
        level 0 (each pair once: a chain stops at a revisit)."""
        found = list(self.levels(max_depth))
        org = np.concatenate([o for o, _ in found])
        anc = np.concatenate([a for _, a in found])
        level = np.concatenate([np.full(len(o), i, dtype=np.int64) for i, (o, _) in enumerate(found)])
        return org, anc, level

    def nearest(self, mask: np.ndarray, max_depth: int = MAX_DEPTH) -> np.ndarray:
        """Position of the nearest ancestor-or-self where ``mask`` is True; -1 where none is."""
        found = np.where(mask, np.arange(len(self)), -1)
        cur = np.where(mask, -1, self.parent)
        for _ in range(max_depth):
            live = np.flatnonzero(cur >= 0)
            if not len(live):
                break
            hit = mask[cur[live]]
            found[live[hit]] = cur[live[hit]]
            cur[live[hit]] = -1
            rest = live[~hit]
            cur[rest] = self.parent[cur[rest]]
        return found

    def positions(self, codes: pd.Series) -> np.ndarray:
        """Position of each code in the tree, -1 where it is not an organisation of it."""
        s = codes.astype("string")
        return self.codes.get_indexer(s.astype(object).where(s.notna(), None)).astype(np.int64)


def _rounds(n: int) -> int:
    return max(1, int(n).bit_length())  # 2**rounds > n


def _step(pos: np.ndarray, by: np.ndarray) -> np.ndarray:
    """by[pos] where pos >= 0, else -1."""
    ok = pos >= 0
    return np.where(ok, by[np.where(ok, pos, 0)], -1)


# --- the functions the other layers call -----------------------------------------------------------
def ancestor_pairs(organizations: pd.DataFrame, max_depth: int = MAX_DEPTH) -> pd.DataFrame:
    """Every (org_code, ancestor_code, level) of the tree, each organisation its own ancestor at
    level 0; rows level by level, each level in table order (nearest ancestors first). An
    ancestor is an organisation of the table: a parent code that is not one ends the chain."""
    tree = OrgTree.of(organizations)
    org, anc, level = tree.ancestor_positions(max_depth)
    codes = tree.codes.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "org_code": pd.array(codes[org], dtype="string"),
            "ancestor_code": pd.array(codes[anc], dtype="string"),
            "level": level,
        }
    )


def subtree(organizations: pd.DataFrame, root: str) -> set[str]:
    """Codes of ``root`` and of every organisation below it (empty when ``root`` is not one)."""
    tree = OrgTree.of(organizations)
    where = tree.codes.get_indexer([root])[0]
    if where < 0:
        return set()
    org, anc, _ = tree.ancestor_positions()
    return set(tree.codes.to_numpy(dtype=object)[org[anc == where]])


def nearest_of_kind(organizations: pd.DataFrame, kinds: Iterable[str]) -> pd.Series:
    """org_code -> code of its nearest ancestor-or-self whose ``kind`` is one of ``kinds``; NA
    where there is none (above it, or on or below a cycle)."""
    orgs = organizations.astype({"org_code": "string"})
    orgs = orgs[orgs["org_code"].notna()].drop_duplicates("org_code")
    tree = OrgTree.of(orgs)
    mask = orgs["kind"].isin(list(kinds)).fillna(False).to_numpy(dtype=bool)
    found = tree.nearest(mask)
    codes = tree.codes.to_numpy(dtype=object)
    out = pd.Series(pd.array(np.where(found >= 0, codes[np.maximum(found, 0)], None), dtype="string"))
    return pd.Series(
        out.to_numpy(), index=pd.Index(tree.codes, dtype="string", name="org_code"), dtype="string"
    )


def depths(organizations: pd.DataFrame) -> pd.Series:
    """org_code -> levels below the top of its chain (0 at a top, -1 on or below a cycle)."""
    tree = OrgTree.of(organizations)
    return pd.Series(tree.depth, index=pd.Index(tree.codes, dtype="string", name="org_code"))


def cycles(organizations: pd.DataFrame) -> pd.Series:
    """org_code -> its cycle as text (``A → B → A``), for the organisations on a cycle only."""
    tree = OrgTree.of(organizations)
    text = tree.cycle_text()
    return text[tree.on_cycle].rename_axis("org_code")


def detached(organizations: pd.DataFrame, roots: Iterable[str] | None = None) -> pd.Series:
    """org_code -> True where no root heads its chain: it hangs below an organisation that is not
    in the table (rejected, or never there) or is caught in a cycle. A root is an organisation
    with a null ``parent_code``, or one of ``roots`` (an audit's committee heads its subtree)."""
    tree = OrgTree.of(organizations)
    top = tree.top
    is_root = tree.parent_code.isna().to_numpy(dtype=bool)
    if roots is not None:
        is_root = is_root | tree.codes.isin(list(roots))
    # the top of a chain is a root, or a root lies on the way up (an audit's committee)
    rooted = np.where(top >= 0, is_root[np.maximum(top, 0)], False)
    rooted |= tree.nearest(is_root) >= 0
    return pd.Series(~rooted, index=pd.Index(tree.codes, dtype="string", name="org_code"))


# --- faults (validation) -------------------------------------------------------------------------
FAULT_RULES = {
    "org_code_unsafe": "org_code",
    "org_code_case_clash": "org_code",
    "tree_cycle": "parent_code",
    "tree_orphan": "parent_code",
    "tree_too_deep": "parent_code",
}


def tree_faults(organizations: pd.DataFrame, known_codes: pd.Series | None = None) -> pd.DataFrame:
    """What is wrong with each organisation's place in the tree, one boolean column per fault
    of ``FAULT_RULES`` (aligned with ``organizations``, which must hold each code once), and
    ``cycle``: the cycle as text for the organisations on one.

    - ``org_code_unsafe``: the code fails ``safe_org_codes`` (it would be a folder name);
    - ``org_code_case_clash``: the code differs from an earlier row's only in letter case (one
      folder where file names ignore case); ``clash_with`` names the earlier code;
    - ``tree_cycle``: the organisation is on a cycle of parent codes (its own ancestor);
    - ``tree_orphan``: its ``parent_code`` names no organisation of ``known_codes`` (every code
      of the export, rejected rows included, so that the children of a rejected organisation
      are not orphans too; default: the codes of ``organizations``);
    - ``tree_too_deep``: more than ``MAX_DEPTH`` levels below the top of its chain (a cycle's
      organisations cut off first).

    The organisations below a faulty one are not faulty themselves: they stay, detached (see
    ``detached``)."""
    tree = OrgTree.of(organizations)
    pos = tree.positions(organizations["org_code"])
    known = organizations["org_code"] if known_codes is None else known_codes
    parent = organizations["parent_code"].astype("string")
    listed = pc.is_in(_arrow(parent), value_set=pc.unique(_arrow(known)), skip_nulls=True)
    out = pd.DataFrame(index=organizations.index)
    out["org_code_unsafe"] = ~safe_org_codes(organizations["org_code"])
    # "G1" and "g1" would share one folder where file names ignore case (Windows, macOS, SMB):
    # the first row keeps the name, a later one is a fault.
    codes = _arrow(organizations["org_code"])
    folded = pd.Index(pc.utf8_lower(codes).to_numpy(zero_copy_only=False))
    clash = folded.duplicated(keep="first")
    other = np.full(len(folded), "", dtype=object)
    if clash.any():  # hashing object arrays: fast; only a clash costs more
        clash &= ~pd.Index(codes.to_numpy(zero_copy_only=False)).duplicated(keep="first")
        first = pd.Series(
            codes.to_numpy(zero_copy_only=False)[~folded.duplicated()], index=folded[~folded.duplicated()]
        )
        other[clash] = first.reindex(folded[clash]).to_numpy(dtype=object)
    out["org_code_case_clash"] = clash
    out["clash_with"] = pd.array(other, dtype="string")
    on_cycle = tree.on_cycle[np.maximum(pos, 0)] & (pos >= 0)
    out["tree_cycle"] = on_cycle
    out["tree_orphan"] = parent.notna().to_numpy(dtype=bool) & ~listed.to_numpy(zero_copy_only=False)
    # Depth once the cycles are cut: an organisation just below a cycle heads its own chain.
    cut = OrgTree(
        tree.codes, np.where(tree.on_cycle[np.maximum(tree.parent, 0)], -1, tree.parent), tree.parent_code
    )
    deep = (cut.depth > MAX_DEPTH)[np.maximum(pos, 0)] & (pos >= 0)
    out["tree_too_deep"] = deep & ~on_cycle
    text = tree.cycle_text().to_numpy()
    out["cycle"] = pd.array(np.where(pos >= 0, text[np.maximum(pos, 0)], ""), dtype="string")
    return out
