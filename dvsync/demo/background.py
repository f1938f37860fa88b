"""The clean background: transfers, guests, old disciplines, earlier ratings and the near misses
that must not become findings."""

from __future__ import annotations

import numpy as np

from dvsync.demo import names
from dvsync.demo.base import iso
from dvsync.demo.calendar import (
    DAY,
    add_months,
    add_working_days,
    add_years,
    deadline_split,
    is_working_day,
)
from dvsync.demo.expected import Findings
from dvsync.demo.population import (
    NAT,
    person_id,
)


class Background(Findings):
    def background(self) -> None:
        rng, m, k = self.rng, self.m, self.k
        n = len(m)
        # Official transfers received inside the province this year (clean).
        for i in self.take(max(2, n // 150)):
            s = self.cell(i)
            r = self.other_cell(s)
            letter = self.as_of - int(rng.integers(45, 300)) * DAY
            letter = letter if is_working_day(np.array([letter]))[0] else letter - 2 * DAY
            received = add_working_days(np.array([letter]), int(rng.integers(3, 29)))[0]
            to = r if rng.random() < 0.6 else self.grass[r]
            self.transfer(i, "official", s, to, letter, received=received, in_cell=r)
            m["cell"][i] = r
        # ... some received in the period month, one addressed to the receiving grassroots committee
        # (a ChuyenDen row whose to_org is an ancestor of the cell: matched, not UNMATCHED_IN).
        first = np.datetime64(self.pm, "D")
        for j, i in enumerate(self.take(max(2, k))):
            s = self.cell(i)
            r = self.other_cell(s)
            received = first + int(rng.integers(0, 25)) * DAY
            letter = received - int(rng.integers(5, 20)) * DAY
            to = self.grass[r] if j % 2 == 0 else r
            tid = self.transfer(i, "official", s, to, letter, received=received, in_cell=r)
            m["cell"][i] = r
            self.miss(
                "TRANSFER_UNMATCHED_IN",
                r,
                self.code(i),
                f"ChuyenDen row matched by {tid} (to_org {to}{' = grassroots committee' if j % 2 == 0 else ''})",
            )
        # Official transfers received outside the province: status transferred_out.
        for j, i in enumerate(self.take(max(2, n // 400))):
            s = self.cell(i)
            letter = self.as_of - int(rng.integers(40, 900)) * DAY
            received = letter + int(rng.integers(5, 35)) * DAY
            tid = self.transfer(
                i,
                "official",
                s,
                self.region.out_of_scope[j % len(self.region.out_of_scope)],
                letter,
                received=received,
                notice=j % 3 != 0,
            )
            m["status"][i] = "transferred_out"
            m["status_date"][i] = received
            if j % 3 == 0:
                self.miss(
                    "TRANSFER_NOT_NOTIFIED",
                    s,
                    self.code(i),
                    f"{tid} has no notice but the member is transferred_out (not screened)",
                )
        # Official transfers in transit within the deadline (not on any roster).
        ok, _late = deadline_split(self.as_of, 30)
        for j, i in enumerate(self.take(max(2, n // 500) + 2)):
            s = self.cell(i)
            if j < 2:  # the near misses: exactly 30 and 29 working days old
                letter = ok[j]
                note = f"in transit {30 - j} working days after the letter {iso(letter)}: not overdue"
                if (self.as_of - letter).astype(int) > 42:
                    note += " (a public holiday lies in the span)"
            else:
                letter = ok[int(rng.integers(2, len(ok)))] if len(ok) > 2 else ok[-1]
                note = "in transit within 30 working days"
            to = self.region.out_of_scope[j % len(self.region.out_of_scope)] if j % 2 else self.other_cell(s)
            tid = self.transfer(i, "official", s, to, letter)
            self.miss("TRANSFER_OVERDUE", s, self.code(i), f"{tid} {note}")
        # A letter dated just before a holiday week: more than 6 calendar weeks old on as_of, yet
        # within 30 working days (only when public holidays fall between the letter and as_of, e.g.
        # Tết for an as_of in March). The latest such letter, apart from the boundary case above.
        hol = [d for d in ok if (self.as_of - d).astype(int) > 42]
        if hol:
            letter = hol[-1]
            i = self.take(1)[0]
            tid = self.transfer(i, "official", self.cell(i), self.region.out_of_scope[0], letter)
            self.miss(
                "TRANSFER_OVERDUE",
                self.cell(i),
                self.code(i),
                f"{tid} letter {iso(letter)} before a holiday week: > 6 calendar weeks but <= 30 working days",
            )
        # Temporary transfers: current guests (home roster own, host roster guest), one expiring on as_of.
        for j, i in enumerate(self.take(max(2, n // 300))):
            s = self.cell(i)
            h = self.other_cell(s)
            letter = self.as_of - int(rng.integers(20, 200)) * DAY
            until = self.as_of if j == 0 else add_months(np.array([letter]), int(rng.integers(6, 12)))[0]
            until = max(until, self.as_of)
            tid = self.transfer(i, "temporary", s, h, letter, until=until, in_cell=h)
            self.guests.append((h, i))
            self.away.add(i)
            if j == 0:
                self.miss(
                    "TEMP_TRANSFER_EXPIRED", s, self.code(i), f"{tid} temporary_until = as_of: not expired"
                )
        # ... and past ones, returned.
        for i in self.take(max(1, n // 500)):
            letter = self.as_of - int(rng.integers(400, 1500)) * DAY
            until = add_months(np.array([letter]), 6)[0]
            self.transfer(
                i,
                "temporary",
                self.cell(i),
                self.other_cell(self.cell(i)),
                letter,
                until=until,
                returned=until - int(rng.integers(0, 20)) * DAY,
            )
        # Old disciplines (before the 12-month window); one exactly on its start (excluded).
        for j, i in enumerate(self.take(max(2, n // 200))):
            when = self.win_start if j == 0 else self.win_start - int(rng.integers(1, 1500)) * DAY
            self.discipline(i, when, "khien_trach" if j % 2 else "canh_cao")
            if j == 0:
                self.miss(
                    "SCREEN_DISCIPLINE",
                    self.cell(i),
                    self.code(i),
                    f"discipline on {iso(when)} = as_of - 12 months: outside (as_of - 12 months, as_of]",
                )
        # KHTNV in an earlier year only: not the latest rated year.
        for i in self.take(max(1, k)):
            self.rating_over[i][self.LY - 1] = "KHTNV"
            self.rating_over[i][self.LY] = "HTNV"
            self.miss("SCREEN_NOT_COMPLETED", self.cell(i), self.code(i), f"KHTNV in {self.LY - 1} only")
        # Probationary near the deadline: exactly 30 working days after the 12 months: not overdue.
        for i in self.take(1):
            c = self.probation_ceremony(overdue=False)
            self.set_admission(i, c - 20 * DAY, official=False)
            m["ceremony"][i] = c
            self.miss(
                "PROBATION_OVERDUE",
                self.cell(i),
                self.code(i),
                f"ceremony {iso(c)}: probation + 30 working days ends on as_of",
            )
        # Badge near misses: a milestone reached the day after the award date; a gap pushing it past.
        for j, i in enumerate(self.take(2)):
            if j == 0:
                self.set_admission(i, add_years(np.array([self.A + DAY]), -30)[0])
                self.miss("BADGE_DUE", self.cell(i), self.code(i), f"30 years reached on {iso(self.A + DAY)}")
            else:
                self.set_admission(i, add_years(np.array([self.A - 20 * DAY]), -30)[0])
                self.gap(i, m["decision"][i] + 3000 * DAY, 200)
                self.miss(
                    "BADGE_DUE", self.cell(i), self.code(i), "30 years by the award date only without the gap"
                )
        # Roster field near misses: case, Unicode form, tone placement, spaces, blanks, lost zero.
        kinds = [
            "upper",
            "nfd",
            "tone",
            "spaces",
            "blank_id",
            "blank_official",
            "central_null",
            "lost_zero",
            "feb29",
        ]
        for j, i in enumerate(self.take(len(kinds))):
            kind = kinds[j]
            name = m["full_name"][i]
            if kind == "upper":
                self.overrides[i]["full_name"] = name.upper()
            elif kind == "nfd":
                import unicodedata

                self.overrides[i]["full_name"] = unicodedata.normalize("NFD", name)
            elif kind == "tone":
                given = names.TONE_NAMES_FEMALE if m["female"][i] else names.TONE_NAMES_MALE
                name = name.rsplit(" ", 1)[0] + " " + given[j % len(given)]
                m["full_name"][i] = name
                self.overrides[i]["full_name"] = names.old_style(name)
            elif kind == "spaces":
                self.overrides[i]["full_name"] = "  " + name.replace(" ", "  ") + " "
            elif kind == "blank_id":
                self.overrides[i]["personal_id"] = None
            elif kind == "blank_official":
                self.overrides[i]["official_date"] = NAT
            elif kind == "central_null":
                m["id_mode"][i] = 1
                self.roster_ids[i] = person_id(
                    self.region.own_cccd, m["birth"][i], bool(m["female"][i]), self.new_tail()
                )
            elif kind == "lost_zero":
                m["id_mode"][i] = 3
            elif kind == "feb29":
                m["birth"][i] = np.datetime64("1984-02-29")
            self.miss("ROSTER_FIELD_MISMATCH", self.cell(i), self.code(i), f"roster near miss: {kind}")
