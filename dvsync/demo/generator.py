"""The demo data set: clean population, planted anomalies, near misses, and the expected findings.

Each planted anomaly sits on its own member(s), taken from a pool of "ordinary" members (active,
official, 2-26 years of party age, no gap, no transfer, valid ID, in a cell that submits), so that
its side effects are the ones recorded next to it. Findings that docs/rules.md derives from a plant
(SCREEN_TRANSFER_RULES from TRANSFER_OVERDUE, ROSTER_MISSING_IN_CELL from a wrong-cell listing, ...)
are recorded by the plant that causes them, with a note.

``Demo`` is composed of one part per job, each in its module: base (the state, Region and the
helpers every part uses), expected (the expected findings and near misses), background (the clean
population's transfers, guests and near misses), plant_roster, plant_transfers, plant_standing,
plant_badges and plant_admission (the planted findings, by family of lists), central (the central
tables). Here: the build, in the order that fixes every random draw.
"""

from __future__ import annotations

import numpy as np

from dvsync.demo.background import Background
from dvsync.demo.base import Region, per_code
from dvsync.demo.central import CentralTables
from dvsync.demo.expected import FIELD
from dvsync.demo.plant_admission import AdmissionPlants
from dvsync.demo.plant_badges import BadgePlants
from dvsync.demo.plant_roster import RosterPlants, _other_name
from dvsync.demo.plant_standing import StandingPlants
from dvsync.demo.plant_transfers import TransferPlants
from dvsync.demo.population import (
    Members,
    build_members,
    build_orgs,
    cell_sizes,
    gap_days,
    isin,
    person_id,
    personal_ids,
    reach_dates,
)

STATUS_LABEL = {"active": "Đang sinh hoạt", "exempt": "Miễn sinh hoạt", "guest": "Sinh hoạt tạm thời"}


class Demo(
    Background,
    RosterPlants,
    TransferPlants,
    StandingPlants,
    BadgePlants,
    AdmissionPlants,
    CentralTables,
):
    """Builds every table in memory; ``central_tables`` and ``workbook_frames`` export them."""

    # --- build -----------------------------------------------------------------------------
    def build(self) -> None:
        rng = self.rng
        n_inactive = max(8, int(round(self.n_target * 0.04)))
        sizes = cell_sizes(rng, self.n_target - n_inactive)
        n_dissolved = max(1, len(sizes) // 200)
        self.orgs, cell_idx = build_orgs(rng, len(sizes), n_dissolved, self.region.code, self.region.name)
        self.m = build_members(rng, self.orgs, cell_idx, sizes, n_inactive, self.as_of, (self.P, self.A))
        m = self.m
        codes = rng.choice(10**8, size=len(m) + 4 * self.k * 8 + 200, replace=False)
        self.code_pool = [f"{self.region.code}{c:08d}" for c in codes]
        m["code"] = np.array(self.code_pool[: len(m)], dtype=object)
        self.code_pool = self.code_pool[len(m) :]
        self.grass = dict(zip(self.orgs.code, self.orgs.grassroots, strict=True))
        self.kind = dict(zip(self.orgs.code, self.orgs.kind, strict=True))

        cells = self.orgs.code[self.orgs.cells()]
        n_silent = min(self.k, max(1, len(cells) // 10))
        self.silent = (
            set(rng.choice(cells, size=n_silent, replace=False).tolist()) if len(cells) > 1 else set()
        )
        self.submitting = np.array(sorted(set(cells) - self.silent), dtype=object)
        in_sub = isin(m["cell"], self.submitting)
        party = (self.as_of - m["decision"]) / np.timedelta64(365, "D")
        ordinary = (
            (m["status"] == "active")
            & ~np.isnat(m["official"])
            & (party >= 2)
            & (party <= 26)
            & np.isnat(m["gap_from"])
            & in_sub
        )
        self.pool = rng.permutation(np.flatnonzero(ordinary))
        self.cursor = 0
        # Old records without an ID or with a 9-digit CMND (not findings), among the non-ordinary.
        rest = np.flatnonzero(~ordinary)
        old = rest[rng.random(len(rest)) < 0.05]
        m["id_mode"][old] = rng.choice([1, 2], size=len(old)).astype(np.int8)

        self.background()
        self.plant_all()
        self.derive()

    # --- planted anomalies (plant_* modules), in this order: it fixes every random draw ----
    def plant_all(self) -> None:
        for name in [
            "submission_missing",
            "roster_missing",
            "not_in_central",
            "wrong_cell",
            "inactive_listed",
            "field_mismatch",
            "duplicates",
            "invalid_id",
            "transfer_overdue",
            "not_notified",
            "dossier_missing",
            "unmatched_in",
            "still_on_sender",
            "temp_expired",
            "fees_gap",
            "missing_docs",
            "probation",
            "not_completed",
            "discipline_plants",
            "low_standing",
            "removal_absence",
            "two_years",
            "badge_due",
            "badge_withheld",
            "admission",
        ]:
            getattr(self, "plant_" + name)()

    # --- derived tables ----------------------------------------------------------------------
    def derive(self) -> None:
        m, rng = self.m, self.rng
        ids = personal_ids(rng, m, home=self.region.home_cccd, slot=self.region.slot)
        # Field-mismatch IDs: another valid serial of the same structure; "TRUE": the ID it should be.
        for i, o in self.overrides.items():
            if o.get("personal_id") == "WRONG":
                o["personal_id"] = (
                    ids[i][:6] + f"{(int(ids[i][6:]) + 1 + int(rng.integers(0, 99))) % 1_000_000:06d}"
                )
            elif o.get("personal_id") == "TRUE":
                o["personal_id"] = person_id(
                    self.region.own_cccd, m["birth"][i], bool(m["female"][i]), self.new_tail()
                )
        self.ids = ids
        self.in_transit = set()
        for t in self.transfers:
            if t["kind"] == "official" and np.isnat(t["received_on"]):
                self.in_transit.add(t["member"])


# FIELD, Region, per_code and _other_name are imported from here (submissions, tests, dvsync.demo).
__all__ = [
    "FIELD",
    "STATUS_LABEL",
    "Demo",
    "Members",
    "Region",
    "_other_name",
    "gap_days",
    "per_code",
    "reach_dates",
]
