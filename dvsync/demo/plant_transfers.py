"""Planted findings of the transfer lists: overdue, not notified, dossier missing, unmatched,
still on the sender, temporary expired, fees gap."""

from __future__ import annotations

import numpy as np

from dvsync.demo.base import iso, ym
from dvsync.demo.calendar import (
    DAY,
    add_months,
    add_working_days,
    deadline_split,
)
from dvsync.demo.expected import Findings


class TransferPlants(Findings):
    def plant_transfer_overdue(self):
        _ok, late = deadline_split(self.as_of, 30)
        for j, i in enumerate(self.take(self.k)):
            s = self.cell(i)
            letter = late[0] if j == 0 else late[min(len(late) - 1, int(self.rng.integers(1, 60)))]
            to = [self.region.out_of_scope[j % 4], self.other_cell(s), self.grass[self.other_cell(s)]][j % 3]
            tid = self.transfer(i, "official", s, to, letter)
            self.exp("TRANSFER_OVERDUE", s, self.code(i), ref=tid, note=f"letter {iso(letter)}, not received")
            self.exp("SCREEN_TRANSFER_RULES", s, self.code(i), note="derived from TRANSFER_OVERDUE")

    def plant_not_notified(self):
        ok, _late = deadline_split(self.as_of, 30)
        for j, i in enumerate(self.take(self.k)):
            s = self.cell(i)
            if j % 2 == 0:  # in transit within the deadline
                tid = self.transfer(i, "official", s, self.region.out_of_scope[j % 4], ok[-5], notice=False)
            else:  # received inside the province
                r = self.other_cell(s)
                letter = self.as_of - int(self.rng.integers(60, 200)) * DAY
                tid = self.transfer(
                    i,
                    "official",
                    s,
                    r,
                    letter,
                    notice=False,
                    received=add_working_days(np.array([letter]), 10)[0],
                    in_cell=r,
                )
                self.m["cell"][i] = r
            self.exp(
                "TRANSFER_NOT_NOTIFIED", s, self.code(i), ref=tid, note="no notice to the receiving committee"
            )

    def plant_dossier_missing(self):
        for j, i in enumerate(self.take(self.k)):
            s = self.cell(i)
            r = self.other_cell(s)
            to = r if j % 2 else self.grass[r]
            letter = self.as_of - int(self.rng.integers(40, 250)) * DAY
            received = add_working_days(np.array([letter]), int(self.rng.integers(2, 25)))[0]
            tid = self.transfer(i, "official", s, to, letter, received=received, dossier=False, in_cell=r)
            self.m["cell"][i] = r
            self.exp(
                "TRANSFER_DOSSIER_MISSING",
                to,
                self.code(i),
                ref=tid,
                note=f"received {iso(received)}, no dossier",
            )
            self.exp("SCREEN_TRANSFER_RULES", r, self.code(i), note="derived from TRANSFER_DOSSIER_MISSING")

    def plant_unmatched_in(self):
        for i in self.take(self.k):
            c = self.cell(i)
            letter = np.datetime64(self.pm, "D") + int(self.rng.integers(0, 10)) * DAY
            self.chuyenden_extra.append(
                {
                    "cell": c,
                    "member_code": self.code(i),
                    "kind": "Chính thức",
                    "from_org": self.region.out_of_scope[1],
                    "letter_date": letter,
                    "received_on": letter + 5 * DAY,
                    "dossier_received_on": letter + 6 * DAY,
                }
            )
            self.exp(
                "TRANSFER_UNMATCHED_IN", c, self.code(i), note="ChuyenDen row without a central transfer"
            )

    def plant_still_on_sender(self):
        for j, i in enumerate(self.take(self.k)):
            s = self.cell(i)
            to = self.region.out_of_scope[j % 4] if j % 2 == 0 else self.other_cell(s)
            letter = self.as_of - int(self.rng.integers(60, 300)) * DAY
            received = add_working_days(np.array([letter]), 12)[0]
            tid = self.transfer(i, "official", s, to, letter, received=received)
            # Central was not updated either (still active in s); the receiver does not list them.
            self.exp(
                "TRANSFER_STILL_ON_SENDER", s, self.code(i), ref=tid, note=f"received by {to}, still on {s}"
            )

    def plant_temp_expired(self):
        for i in self.take(self.k):
            s = self.cell(i)
            h = self.other_cell(s)
            until = self.as_of - int(self.rng.integers(1, 60)) * DAY
            letter = add_months(np.array([until]), -int(self.rng.integers(4, 11)))[0]
            tid = self.transfer(i, "temporary", s, h, letter, until=until)
            self.guests.append((h, i))
            self.away.add(i)
            self.exp(
                "TEMP_TRANSFER_EXPIRED",
                s,
                self.code(i),
                ref=tid,
                note=f"temporary until {iso(until)}, no return",
            )

    def plant_fees_gap(self):
        ok, _late = deadline_split(self.as_of, 30)
        for j, i in enumerate(self.take(self.k)):
            s = self.cell(i)
            v = j % 3
            if v == 0:  # received inside the province
                r = self.other_cell(s)
                letter = self.as_of - int(self.rng.integers(60, 250)) * DAY
                fees = ym(add_months(np.array([letter]), -int(self.rng.integers(1, 4)))[0])
                tid = self.transfer(
                    i,
                    "official",
                    s,
                    r,
                    letter,
                    fees=fees,
                    received=add_working_days(np.array([letter]), 8)[0],
                    in_cell=r,
                )
                self.m["cell"][i] = r
            elif v == 1:  # temporary, current
                h = self.other_cell(s)
                letter = self.as_of - int(self.rng.integers(30, 90)) * DAY
                fees = ym(add_months(np.array([letter]), -1)[0])
                tid = self.transfer(
                    i, "temporary", s, h, letter, fees=fees, until=self.as_of + 120 * DAY, in_cell=h
                )
                self.guests.append((h, i))
                self.away.add(i)
            else:  # in transit within the deadline
                letter = ok[min(len(ok) - 1, 3)]
                fees = ym(add_months(np.array([letter]), -2)[0])
                tid = self.transfer(i, "official", s, self.region.out_of_scope[2], letter, fees=fees)
            self.exp(
                "TRANSFER_FEES_GAP", s, self.code(i), ref=tid, note=f"fees paid through {fees}, letter later"
            )
