"""Planted findings of a member's standing: missing dossier documents, overdue probation, the
screening lists and the removal lists (absences or fees, two years not completed)."""

from __future__ import annotations

import numpy as np

from dvsync.demo.base import iso
from dvsync.demo.calendar import (
    DAY,
    no_feb29,
    year_of,
)
from dvsync.demo.expected import Findings

BASE_DOCS = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV"]


class StandingPlants(Findings):
    def required_docs(self, i: int) -> list[tuple[str, int]]:
        m = self.m
        docs = [(d, -1) for d in BASE_DOCS]
        if not np.isnat(m["official"][i]):
            docs.append(("QD-CT", -1))
        if year_of(np.array([m["ceremony"][i]]))[0] < self.LY:
            docs.append(("3-HSDV", self.LY))
        return docs

    def plant_missing_docs(self):
        for j, i in enumerate(self.take(self.k)):
            docs = self.required_docs(i)
            picks = (
                [docs[j % len(docs)]] if j % 4 else [docs[-1], docs[int(self.rng.integers(len(docs) - 1))]]
            )
            for doc, year in picks:
                self.doc_remove.add((i, doc, year))
                self.exp(
                    "DOSSIER_MISSING_DOC",
                    self.cell(i),
                    self.code(i),
                    doc,
                    ref=str(year) if year > 0 else "",
                    note=f"no {doc}{' for ' + str(year) if year > 0 else ''} in the dossier",
                )

    def plant_probation(self):
        for j, i in enumerate(self.take(self.k)):
            if j == 0:
                c = self.probation_ceremony(overdue=True)
            else:
                c = self.as_of - int(self.rng.integers(430, 560)) * DAY
            c = no_feb29(np.array([c]))[0]
            self.set_admission(i, c - int(self.rng.integers(7, 30)) * DAY, official=False)
            self.m["ceremony"][i] = c
            self.exp(
                "PROBATION_OVERDUE", self.cell(i), self.code(i), note=f"ceremony {iso(c)}, not yet recognised"
            )

    def plant_not_completed(self):
        for j, i in enumerate(self.take(self.k)):
            self.rating_over[i][self.LY] = "KHTNV"
            self.rating_over[i][self.LY - 1] = "HTNV"
            if j % 2 == 0:
                self.rating_over[i][self.LY - 2] = "KHTNV"  # not consecutive with the latest year
                self.danhgia.append(
                    {"cell": self.cell(i), "member": i, "category": 1, "note": "Không hoàn thành nhiệm vụ"}
                )
            self.exp("SCREEN_NOT_COMPLETED", self.cell(i), self.code(i), note=f"KHTNV in {self.LY}")

    def plant_discipline_plants(self):
        for j, i in enumerate(self.take(self.k)):
            when = [self.as_of, self.win_start + DAY, self.as_of - int(self.rng.integers(10, 330)) * DAY][
                min(j, 2)
            ]
            self.discipline(i, when, ["khien_trach", "canh_cao", "cach_chuc"][j % 3])
            if j % 2:
                self.danhgia.append(
                    {"cell": self.cell(i), "member": i, "category": 3, "note": "Vi phạm kỷ luật"}
                )
            self.exp("SCREEN_DISCIPLINE", self.cell(i), self.code(i), note=f"disciplined on {iso(when)}")

    def plant_low_standing(self):
        for i in self.take(self.k):
            self.danhgia.append({"cell": self.cell(i), "member": i, "category": 4, "note": "Thiếu gương mẫu"})
            self.exp("SCREEN_LOW_STANDING", self.cell(i), self.code(i), note="Nhóm 4 in DanhGia")

    def plant_removal_absence(self):
        ms = self.months_before(8)
        if len(ms) < 2:  # January or February: too few months in the year for 3 absences
            return
        full = len(ms) >= 7  # otherwise only the variants that need two earlier months
        for j, i in enumerate(self.take(self.k + (4 if full else 2))):
            v = (j % 7 if full else [1, 3][j % 2]) if j < self.k else 7 + (j - self.k)
            c = self.code(i)
            if v == 0:  # absent in two earlier workbooks and the period
                self.absent(i, [ms[0], ms[3], self.period])
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES",
                    self.cell(i),
                    c,
                    "attendance",
                    note="absent 3 months (2 earlier workbooks)",
                )
            elif v == 1:  # months resent in the period's workbook
                self.absent(i, [ms[0], ms[1]], resend=True)
                self.absent(i, [self.period])
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES",
                    self.cell(i),
                    c,
                    "attendance",
                    note="absent 3 months (2 resent)",
                )
            elif v == 2:  # fees unpaid
                self.absent(i, [ms[0], ms[4], ms[5]], attended=True, fees=False)
                self.exp("REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "fees", note="fees unpaid 3 months")
            elif v == 3:  # both
                self.absent(i, [ms[0], ms[1], self.period], fees=False)
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES",
                    self.cell(i),
                    c,
                    "attendance",
                    note="absent and unpaid 3 months",
                )
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "fees", note="absent and unpaid 3 months"
                )
            elif v == 4:  # exempt: absences do not count, unpaid fees do
                self.m["status"][i] = "exempt"
                self.m["status_date"][i] = self.as_of - 700 * DAY
                self.absent(i, [ms[0], ms[2], self.period], fees=False)
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES",
                    self.cell(i),
                    c,
                    "fees",
                    note="exempt member, fees unpaid 3 months",
                )
            elif v == 5:  # four months, one resent and one in an earlier workbook
                self.absent(i, [ms[0], ms[6]])
                self.absent(i, [ms[2]], resend=True)
                self.absent(i, [self.period])
                self.exp("REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "attendance", note="absent 4 months")
            elif v == 6:
                self.absent(i, [ms[1], ms[3], ms[5]])
                self.exp(
                    "REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "attendance", note="absent 3 earlier months"
                )
            elif v == 7:  # near miss: two months
                self.absent(i, [ms[0], self.period])
                self.miss("REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "absent 2 months only")
            elif v == 8:  # near miss: third month excused
                self.absent(i, [ms[0], ms[1]])
                self.absent(i, [self.period], excused=True)
                self.miss("REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "absent 3 months, one excused")
            elif v == 9:  # near miss: an earlier month corrected by a resend in the period's workbook
                self.absent(i, [ms[0], ms[4], self.period])
                self.absent(i, [ms[0]], attended=True, resend=True)
                self.miss(
                    "REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, f"{ms[0]} absent, corrected by a resend"
                )
            else:  # near miss: exempt, absent 3 months, fees paid
                self.m["status"][i] = "exempt"
                self.m["status_date"][i] = self.as_of - 700 * DAY
                self.absent(i, [ms[1], ms[4], self.period])
                self.miss(
                    "REMOVAL_ABSENCE_OR_FEES", self.cell(i), c, "exempt member absent 3 months, fees paid"
                )

    def plant_two_years(self):
        for i in self.take(self.k):
            self.rating_over[i][self.LY] = "KHTNV"
            self.rating_over[i][self.LY - 1] = "KHTNV"
            self.exp(
                "REMOVAL_TWO_YEARS_KHT", self.cell(i), self.code(i), note=f"KHTNV {self.LY - 1} and {self.LY}"
            )
            self.exp(
                "SCREEN_NOT_COMPLETED", self.cell(i), self.code(i), note="derived: KHTNV in the latest year"
            )
