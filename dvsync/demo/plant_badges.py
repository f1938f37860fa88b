"""Planted findings of the party-age badges: due, and due but withheld (disciplined, or on a
removal list)."""

from __future__ import annotations

import numpy as np

from dvsync.demo.calendar import (
    DAY,
    add_years,
)
from dvsync.demo.expected import Findings


class BadgePlants(Findings):
    def badge_member(self, i: int, variant: int) -> int:
        """Make member i badge-due; returns the milestone named in the finding."""
        rng, m = self.rng, self.m
        span = max(1, int((self.as_of - self.P).astype(int)))
        if variant == 0:  # 30 years reached after the last award date, before as_of
            reach = self.P + int(rng.integers(1, span + 1)) * DAY
            self.set_admission(i, add_years(np.array([reach]), -30)[0])
            return 30
        if variant == 1:  # 40 years reached between as_of and the next award date; holds the 30
            reach = self.as_of + int(rng.integers(1, max(2, int((self.A - self.as_of).astype(int))))) * DAY
            self.set_admission(i, add_years(np.array([reach]), -40)[0])
            return 40
        if variant == 2:  # reached on the award date itself
            self.set_admission(i, add_years(np.array([self.A]), -30)[0])
            return 30
        if variant == 3:  # 30 reached years ago, never awarded
            self.set_admission(i, self.as_of - int(rng.integers(31 * 365, 34 * 365)) * DAY)
            self.set_admission(i, _avoid_window(m["decision"][i], self.P, self.A))
            m["badge_cap"][i] = 0
            return 30
        # variant 4: with an activity gap of 400 days, 30 years reached inside the window
        reach = self.P + int(rng.integers(4, max(5, int((self.A - self.P).astype(int)) - 4))) * DAY
        self.set_admission(i, add_years(np.array([reach - 400 * DAY]), -30)[0])
        self.gap(i, m["decision"][i] + 2000 * DAY, 400)
        return 30

    def plant_badge_due(self):
        for j, i in enumerate(self.take(self.k)):
            ms = self.badge_member(i, j % 5)
            if j % 5 == 3 and j % 2:  # an exempt veteran still receives the badge
                self.m["status"][i] = "exempt"
                self.m["status_date"][i] = self.as_of - 200 * DAY
            self.exp("BADGE_DUE", self.cell(i), self.code(i), str(ms), note=f"{ms}-year badge not awarded")

    def plant_badge_withheld(self):
        for j, i in enumerate(self.take(self.k)):
            ms = self.badge_member(i, j % 3)
            c = self.code(i)
            v = j % 3
            if v == 0:
                when = self.as_of - int(self.rng.integers(20, 300)) * DAY
                self.discipline(i, when, "khien_trach")
                self.exp(
                    "SCREEN_DISCIPLINE",
                    self.cell(i),
                    c,
                    note="derived: disciplined, so the badge is withheld",
                )
                why = "disciplined"
            elif v == 1 and len(self.months_before(2)) == 2:
                ms_ = self.months_before(2)
                self.absent(i, ms_[:2], resend=True)
                self.absent(i, [self.period])
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "attendance", note="derived: absent 3 months"
                )
                why = "on the removal list (absence)"
            else:
                self.rating_over[i][self.LY] = "KHTNV"
                self.rating_over[i][self.LY - 1] = "KHTNV"
                self.exp("REMOVAL_TWO_YEARS_KHT", self.cell(i), c, note="derived: KHTNV two years")
                self.exp("SCREEN_NOT_COMPLETED", self.cell(i), c, note="derived: KHTNV in the latest year")
                why = "on the removal list (two years KHTNV)"
            self.exp("BADGE_WITHHELD", self.cell(i), c, str(ms), note=f"{ms}-year badge due but {why}")


def _avoid_window(
    decision: np.datetime64, prev_award: np.datetime64, next_award: np.datetime64
) -> np.datetime64:
    """Move a decision date so that no milestone is reached in (prev_award, next_award]."""
    from schemas.contract import BADGE_MILESTONES

    for _ in range(3):
        reach = add_years(np.full(len(BADGE_MILESTONES), decision), np.array(BADGE_MILESTONES))
        if not ((reach > prev_award - 3 * DAY) & (reach <= next_award + 3 * DAY)).any():
            return decision
        decision = decision + 125 * DAY
    return decision
