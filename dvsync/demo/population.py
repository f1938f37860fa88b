"""The clean synthetic population: organisation tree, members and their dates, vectorised.

Everything here is consistent with docs/rules.md, so that the clean population yields no finding;
``plants.py`` then changes a few members on purpose. Members are a dict of numpy arrays (one row
per member record) rather than a DataFrame: plants mutate single rows and dates stay ``datetime64[D]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dvsync.demo import names
from dvsync.demo.calendar import (
    DAY,
    add_months,
    add_years,
    first_award_on_or_after,
    no_feb29,
    year_of,
)
from schemas.contract import BADGE_MILESTONES

NAT = np.datetime64("NaT", "D")
PROVINCE = "93"  # M1 of every organisation code
OUT_OF_SCOPE = ["79.012.000.004.000", "92.003.000.011.000", "94.001.000.002.000", "01.030.000.007.000"]
INACTIVE_MIX = {"transferred_out": 0.35, "deceased": 0.35, "removed": 0.1, "expelled": 0.05, "left": 0.15}


def isin(a: np.ndarray, values) -> np.ndarray:
    """np.isin for object (string) arrays: hash-based (numpy compares every pair for objects)."""
    return pd.Index(list(values) if not isinstance(values, np.ndarray) else values).get_indexer(a) >= 0


def _years(n: float) -> np.timedelta64:
    return np.timedelta64(int(round(n * 365.25)), "D")


@dataclass
class Orgs:
    code: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    parent: np.ndarray
    active: np.ndarray
    grassroots: np.ndarray  # code of the grassroots organisation at or above (itself for one)

    def cells(self) -> np.ndarray:
        """Indices of active member-holding organisations."""
        return np.flatnonzero(np.isin(self.kind, ["cell", "grassroots_cell"]) & self.active)


@dataclass
class Members:
    """Columns of the central ``members`` table plus generator-only columns, one row per record."""

    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self.cols[key] = value

    def __len__(self) -> int:
        return len(self.cols["code"])

    def append(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """Append records (every column must be given); returns their indices."""
        start = len(self)
        for key, arr in self.cols.items():
            self.cols[key] = np.concatenate([arr, np.asarray(rows[key], dtype=arr.dtype)])
        return np.arange(start, len(self))


def cell_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    """Lognormal cell sizes, mean ~24, min 3, max a few hundred, summing to ``total``."""
    sigma = 0.8
    mu = np.log(23.0) - sigma**2 / 2
    sizes = np.clip(np.rint(rng.lognormal(mu, sigma, size=max(8, total // 12))), 3, 400).astype(np.int64)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, total))
    sizes = sizes[: k + 1].copy()
    sizes[-1] = total - (cum[k - 1] if k > 0 else 0)
    if len(sizes) > 1 and sizes[-1] < 3:  # too small to be a cell: give its members to the previous one
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return sizes


def build_orgs(
    rng: np.random.Generator,
    n_cells: int,
    n_dissolved: int,
    province: str = PROVINCE,
    province_name: str = names.PROVINCE_NAME,
) -> tuple[Orgs, np.ndarray]:
    """The tree province -> upper -> grassroots (committee or cell) -> cells.

    Returns the organisations and, for each of the ``n_cells`` member-holding cells, its index.
    ``province``: M1 of every code (the national data set builds one tree per province).
    """
    PROVINCE = province  # noqa: N806 - the module default, per tree
    # Group cells into grassroots organisations: ~30% are grassroots cells (chi bộ cơ sở).
    group = []
    while sum(group) < n_cells:
        g = np.where(rng.random(256) < 0.3, 1, np.minimum(2 + rng.geometric(0.28, 256), 40))
        group.extend(g.tolist())
    group = np.array(group)
    cum = np.cumsum(group)
    k = int(np.searchsorted(cum, n_cells))
    group = group[: k + 1]
    group[-1] = n_cells - (cum[k - 1] if k > 0 else 0)
    # Uppers hold 20-120 grassroots organisations each.
    per_upper = []
    while sum(per_upper) < len(group):
        per_upper.append(int(rng.integers(20, 121)))
    per_upper[-1] -= sum(per_upper) - len(group)

    code, name, kind, parent, active, grass = [], [], [], [], [], []
    root = f"{PROVINCE}.000.000.000.000"
    code.append(root), name.append(province_name), kind.append("province"), parent.append(None)
    active.append(True), grass.append(None)
    cell_index: list[int] = []
    gi = 0
    committees: list[tuple[str, int]] = []  # (code, next free cell number)
    for u, n_grass in enumerate(per_upper, start=1):
        ucode = f"{PROVINCE}.{u:03d}.000.000.000"
        tmpl = names.UPPER_NAMES[u % len(names.UPPER_NAMES)]
        code.append(ucode), name.append(tmpl.format(names.PLACES[u % len(names.PLACES)]))
        kind.append("upper"), parent.append(root), active.append(True), grass.append(None)
        for g in range(1, n_grass + 1):
            size = int(group[gi])
            gi += 1
            gcode = f"{PROVINCE}.{u:03d}.000.{g:03d}.000"
            place = names.PLACES[(u * 7 + g) % len(names.PLACES)]
            if size == 1:
                tmpl = names.GRASSROOTS_CELL_NAMES[g % len(names.GRASSROOTS_CELL_NAMES)]
                cell_index.append(len(code))
                code.append(gcode), name.append(tmpl.format(f"{place} {g}")), kind.append("grassroots_cell")
                parent.append(ucode), active.append(True), grass.append(gcode)
                continue
            tmpl = names.GRASSROOTS_NAMES[g % len(names.GRASSROOTS_NAMES)]
            code.append(gcode), name.append(tmpl.format(f"{place} {g}")), kind.append("grassroots_committee")
            parent.append(ucode), active.append(True), grass.append(gcode)
            for c in range(1, size + 1):
                cell_index.append(len(code))
                tmpl = names.CELL_NAMES[c % len(names.CELL_NAMES)]
                code.append(f"{PROVINCE}.{u:03d}.000.{g:03d}.{c:03d}"), name.append(tmpl.format(c))
                kind.append("cell"), parent.append(gcode), active.append(True), grass.append(gcode)
            committees.append((gcode, size + 1))
    # Dissolved cells (inactive, only inactive members left): never a SUBMISSION_MISSING.
    for j in range(min(n_dissolved, len(committees))):
        gcode, nxt = committees[int(rng.integers(len(committees)))]
        c = 900 + j
        code.append(gcode[:-3] + f"{c:03d}"), name.append(f"Chi bộ {c} (đã giải thể)"), kind.append("cell")
        parent.append(gcode), active.append(False), grass.append(gcode)
    orgs = Orgs(
        code=np.array(code, dtype=object),
        name=np.array(name, dtype=object),
        kind=np.array(kind, dtype=object),
        parent=np.array(parent, dtype=object),
        active=np.array(active, dtype=bool),
        grassroots=np.array(grass, dtype=object),
    )
    return orgs, np.array(cell_index)


def build_members(
    rng: np.random.Generator,
    orgs: Orgs,
    cell_idx: np.ndarray,
    sizes: np.ndarray,
    n_inactive: int,
    as_of: np.datetime64,
    award_window: tuple[np.datetime64, np.datetime64],
) -> Members:
    """Clean members: screened ones fill the cells; inactive records sit in cells too."""
    n_screen = int(sizes.sum())
    n = n_screen + n_inactive
    cell = np.empty(n, dtype=object)
    cell[:n_screen] = np.repeat(orgs.code[cell_idx], sizes)
    dissolved = np.flatnonzero(~orgs.active & (orgs.kind == "cell"))
    in_dissolved = rng.random(n_inactive) < (0.15 if len(dissolved) else 0)
    cell[n_screen:] = np.where(
        in_dissolved,
        orgs.code[dissolved[rng.integers(max(len(dissolved), 1), size=n_inactive)]]
        if len(dissolved)
        else None,
        orgs.code[cell_idx[rng.integers(len(cell_idx), size=n_inactive)]],
    )
    status = np.full(n, "active", dtype=object)
    status[n_screen:] = rng.choice(list(INACTIVE_MIX), size=n_inactive, p=list(INACTIVE_MIX.values()))

    female = rng.random(n) < 0.36
    # Party age (years since the admission decision): many young members, a long tail of veterans.
    party_years = np.clip(rng.gamma(1.3, 11.0, n), 0.12, 70.0)
    party_years[status == "deceased"] += 10  # the deceased are older on average
    decision = as_of - (party_years * 365.25).astype(np.int64) * DAY
    adm_age = np.minimum(18.3 + rng.gamma(2.0, 4.5, n), 58.0)
    birth = decision - (adm_age * 365.25).astype(np.int64) * DAY
    too_old = birth < add_years(np.array([as_of]), -97)[0]
    birth = np.where(too_old, add_years(np.array([as_of]), -97)[0] + rng.integers(0, 3000, n) * DAY, birth)
    # Keep >= 18 full years (counted in months) at admission after the cap above.
    decision = np.maximum(decision, add_months(birth, 18 * 12 + 3))
    decision = no_feb29(decision)

    # Activity gaps (periods without party activity) for ~1% of long-standing members.
    gap_from = np.full(n, NAT)
    gap_to = np.full(n, NAT)
    party_years = (as_of - decision) / np.timedelta64(365, "D")
    has_gap = (rng.random(n) < 0.012) & (party_years > 12)
    if has_gap.any():
        span = ((party_years[has_gap] - 7) * 365).astype(np.int64)
        start = decision[has_gap] + (365 + (rng.random(has_gap.sum()) * span).astype(np.int64)) * DAY
        gap_from[has_gap] = start
        gap_to[has_gap] = start + rng.integers(180, 1500, has_gap.sum()) * DAY
    gap_days = np.where(has_gap, (gap_to - gap_from).astype("timedelta64[D]").astype(np.int64), 0)

    # Clean members never reach a milestone in (previous award date, next award date]: they would be
    # BADGE_DUE. Shift those admission decisions ~4 months later (margin of 3 days for the gap count).
    prev_award, next_award = award_window
    for _ in range(2):
        hit = np.zeros(n, dtype=bool)
        for m in BADGE_MILESTONES:
            reach = add_years(decision, m) + gap_days * DAY
            hit |= (reach > prev_award - 3 * DAY) & (reach <= next_award + 3 * DAY)
        decision = np.where(hit, no_feb29(decision + 125 * DAY), decision)

    ceremony = no_feb29(np.minimum(decision + rng.integers(7, 46, n) * DAY, as_of - DAY))
    end = add_months(ceremony, 12)
    official = np.where(end <= as_of, end, NAT)

    age = (as_of - birth) / np.timedelta64(365, "D")
    exempt = (status == "active") & ~np.isnat(official) & (rng.random(n) < np.where(age >= 75, 0.3, 0.004))
    status[exempt] = "exempt"
    # Status dates: exemption some time ago; inactive events after the ceremony.
    lo = np.maximum(ceremony, as_of - 3650 * DAY)
    event = lo + (rng.random(n) * ((as_of - 30 * DAY) - lo).astype(np.int64)).astype(np.int64) * DAY
    event = np.maximum(event, ceremony + DAY)
    status_date = np.where(status == "active", np.where(np.isnat(official), ceremony, official), event)
    # Inactive records: no activity gap after the event, and no dates after it.
    gap_from = np.where(np.isin(status, ["active", "exempt"]) | (gap_to < status_date), gap_from, NAT)
    gap_to = np.where(np.isnat(gap_from), NAT, gap_to)

    m = Members()
    m["code"] = np.empty(n, dtype=object)  # assigned by the generator (needs the extra records)
    m["full_name"] = names.full_names(rng, female)
    m["female"] = female
    m["birth"] = birth
    m["decision"] = decision
    m["ceremony"] = ceremony
    m["official"] = official
    m["cell"] = cell
    m["status"] = status
    m["status_date"] = status_date
    m["gap_from"] = gap_from
    m["gap_to"] = gap_to
    m["id_mode"] = np.zeros(n, dtype=np.int8)  # 0 CCCD, 1 null, 2 CMND, 3 lost zero, 4 override, 5 copy
    m["id_override"] = np.empty(n, dtype=object)
    m["badge_cap"] = np.full(n, 999, dtype=np.int64)  # badges above this milestone are withheld/missing
    m["special"] = np.zeros(n, dtype=bool)  # taken by a plant or a background case
    m["dossier_code"] = names.pick(rng, names.DOSSIER_CODES, n, names.DOSSIER_W)
    return m


def gap_days(m: Members) -> np.ndarray:
    g = (m["gap_to"] - m["gap_from"]).astype("timedelta64[D]").astype(np.int64)
    return np.where(np.isnat(m["gap_from"]), 0, g)


def badges(m: Members, prev_award: np.datetime64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(member index, years, awarded_on) for every milestone reached on or before the previous award
    date (so awarded at the first award date after reaching it) and not above the member's cap."""
    idx, years, awarded = [], [], []
    gd = gap_days(m) * DAY
    for ms in BADGE_MILESTONES:
        reach = add_years(m["decision"], ms) + gd
        ok = (reach <= prev_award) & (m["badge_cap"] >= ms)
        if not ok.any():
            continue
        sel = np.flatnonzero(ok)
        idx.append(sel)
        years.append(np.full(len(sel), ms))
        awarded.append(first_award_on_or_after(reach[sel]))
    if not idx:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([], dtype="datetime64[D]")
    return np.concatenate(idx), np.concatenate(years), np.concatenate(awarded)


def reach_dates(m: Members, milestone: int) -> np.ndarray:
    return add_years(m["decision"], milestone) + gap_days(m) * DAY


def personal_ids(
    rng: np.random.Generator,
    m: Members,
    home_share: float = 0.6,
    home: list[int] | None = None,
    slot: tuple[int, int] = (0, 1),
) -> np.ndarray:
    """CCCD consistent with birth year, gender and a birth-registration province (domain.md).

    ``home``: the birth-registration codes most members have; ``slot`` (i, n): this tree draws its
    serials from the i-th of n disjoint ranges, so that the trees of a national data set, built one
    after the other, never give two people the same number ((0, 1): the whole range)."""
    n = len(m)
    lo, hi = slot[0] * 900_000 // slot[1], (slot[0] + 1) * 900_000 // slot[1]
    by = year_of(m["birth"])
    prov = np.where(
        rng.random(n) < home_share,
        rng.choice(home or [92, 93, 94, 95, 86], size=n),
        np.asarray(names.PROVINCE_CODES)[rng.integers(len(names.PROVINCE_CODES), size=n)],
    )
    century = (by - 1900) // 100
    cg = century * 2 + m["female"].astype(np.int64)
    key_head = prov.astype(np.int64) * 10**9 + cg * 10**8 + (by % 100) * 10**6
    tail = rng.integers(lo, hi, n)  # 900000-999999 is kept for candidates and unknown people
    key = key_head + tail
    for _ in range(50):
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        key[dup] = key_head[dup] + rng.integers(lo, hi, dup.sum())
    ids = np.char.zfill(key.astype(str), 12).astype(object)
    # Old records: no ID, or a 9-digit CMND (not findings).
    mode = m["id_mode"]
    cmnd_n = int((mode == 2).sum())
    if cmnd_n:
        c_lo = 10_000_000 + slot[0] * 390_000_000 // slot[1]
        c_hi = 10_000_000 + (slot[0] + 1) * 390_000_000 // slot[1]
        cmnd = rng.choice(c_hi - c_lo, size=cmnd_n, replace=False) + c_lo
        ids[mode == 2] = np.char.zfill(cmnd.astype(str), 9).astype(object)
    lost = mode == 3  # Excel dropped the leading zero somewhere upstream (11 digits): restored, valid
    ids[lost] = np.array([s[1:] for s in ids[lost]], dtype=object)
    ids[mode == 1] = None
    over = mode == 4
    ids[over] = m["id_override"][over]
    copy = np.flatnonzero(mode == 5)
    ids[copy] = ids[m["id_override"][copy].astype(np.int64)]
    return ids


def person_id(prov: int, birth: np.datetime64, female: bool, tail: int) -> str:
    by = int(year_of(np.array([birth]))[0])
    cg = (by - 1900) // 100 * 2 + int(female)
    return f"{prov:03d}{cg}{by % 100:02d}{tail:06d}"
