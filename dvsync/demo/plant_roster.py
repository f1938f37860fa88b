"""Planted findings of the rosters and personal IDs: submission and roster lists, wrong cells,
inactive members listed, field mismatches, duplicate people, invalid IDs."""

from __future__ import annotations

import unicodedata

import numpy as np

from dvsync.demo import names
from dvsync.demo.calendar import (
    DAY,
    add_months,
    no_feb29,
    year_of,
)
from dvsync.demo.expected import Findings
from dvsync.demo.population import (
    isin,
    person_id,
)


class RosterPlants(Findings):
    def plant_submission_missing(self):
        for c in sorted(self.silent):
            self.exp("SUBMISSION_MISSING", c, None, note="the cell sent no workbook for the period")

    def plant_roster_missing(self):
        for j, i in enumerate(self.take(self.k)):
            if j % 3 == 2:
                self.m["status"][i] = "exempt"
                self.m["status_date"][i] = self.as_of - 400 * DAY
            self.drop_own.add(i)
            self.exp(
                "ROSTER_MISSING_IN_CELL",
                self.cell(i),
                self.code(i),
                note=f"{self.m['status'][i]} member left off the cell's roster",
            )

    def unknown_person(self) -> dict:
        rng = self.rng
        female = bool(rng.random() < 0.4)
        birth = self.as_of - int(rng.integers(22 * 365, 50 * 365)) * DAY
        ceremony = self.as_of - int(rng.integers(400, 3000)) * DAY
        ceremony = no_feb29(np.array([ceremony]))[0]
        return {
            "code": self.code_pool.pop(),
            "full_name": names.full_names(rng, np.array([female]))[0],
            "female": female,
            "birth": birth,
            "personal_id": person_id(self.region.own_cccd, birth, female, self.new_tail()),
            "ceremony": ceremony,
            "official": add_months(np.array([ceremony]), 12)[0],
        }

    def plant_not_in_central(self):
        for j in range(self.k):
            c = self.submitting[int(self.rng.integers(len(self.submitting)))]
            p = self.unknown_person()
            status = "guest" if j % 3 == 2 else "active"
            self.added.append({"cell": c, "member": -1, "person": p, "status": status})
            self.exp(
                "ROSTER_NOT_IN_CENTRAL", c, p["code"], note=f"member code unknown to central ({status} row)"
            )

    def plant_wrong_cell(self):
        for j, i in enumerate(self.take(self.k)):
            c = self.cell(i)
            x = self.other_cell(c)
            self.added.append({"cell": x, "member": i, "status": "active"})
            self.exp("ROSTER_WRONG_CELL", x, self.code(i), note=f"listed as own by {x}, central cell {c}")
            if j % 2 == 0:
                self.drop_own.add(i)
                self.exp(
                    "ROSTER_MISSING_IN_CELL",
                    c,
                    self.code(i),
                    note=f"derived: moved to {x} without a transfer",
                )
            else:
                self.exp("DUPLICATE_PERSON", x, self.code(i), "roster", note="derived: on two rosters as own")
                self.exp("DUPLICATE_PERSON", c, self.code(i), "roster", note="derived: on two rosters as own")

    def inactive_pool(self) -> np.ndarray:
        m = self.m
        ok = (
            np.isin(m["status"], ["deceased", "removed", "expelled", "left"])
            & isin(m["cell"], self.submitting)
            & ~m["special"]
            & (m["id_mode"] == 0)
        )
        return self.rng.permutation(np.flatnonzero(ok))

    def plant_inactive_listed(self):
        pool = self.inactive_pool()
        for i in pool[: self.k]:
            self.m["special"][i] = True
            self.added.append({"cell": self.cell(i), "member": i, "status": "active"})
            self.exp(
                "ROSTER_INACTIVE_LISTED",
                self.cell(i),
                self.code(i),
                note=f"central status {self.m['status'][i]}, still on the roster",
            )

    def plant_field_mismatch(self):
        fields = ["full_name", "birth_date", "gender", "personal_id", "admission_date", "official_date"]
        n = max(self.k, len(fields))
        for j, i in enumerate(self.take(n)):
            f = fields[j % len(fields)]
            m = self.m
            o = self.overrides[i]
            if f == "full_name":
                o[f] = (
                    names.full_names(self.rng, np.array([m["female"][i]]))[0]
                    if j % 2
                    else _strip_marks(m["full_name"][i])
                )
                o[f] = _other_name(o[f], m["full_name"][i])
            elif f == "birth_date":
                o[f] = m["birth"][i] + int(self.rng.integers(1, 400)) * DAY
            elif f == "gender":
                o[f] = "Nam" if m["female"][i] else "Nữ"
            elif f == "personal_id":
                o[f] = "WRONG"  # resolved after IDs exist: same structure, another serial
            elif f == "admission_date":
                o[f] = m["ceremony"][i] - int(self.rng.integers(1, 60)) * DAY
            elif f == "official_date":
                o[f] = m["official"][i] + int(self.rng.integers(1, 60)) * DAY
            self.exp("ROSTER_FIELD_MISMATCH", self.cell(i), self.code(i), f, note=f"roster {f} differs")

    def plant_duplicates(self):
        m = self.m
        src = self.take(self.k)
        if not len(src):
            return
        active = np.arange(len(src)) % 2 == 1
        # A second record of the same person (same ID): an old 'left' record in the same cell, or an
        # active one in another cell (listed there under its own code). Appended at once (one copy).
        rows = {key: m[key][src].copy() for key in m.cols}
        rows["code"] = np.array([self.code_pool.pop() for _ in src], dtype=object)
        rows["cell"] = np.array(
            [self.other_cell(self.cell(i)) if a else self.cell(i) for i, a in zip(src, active, strict=True)],
            dtype=object,
        )
        rows["status"] = np.where(active, "active", "left").astype(object)
        rows["status_date"] = np.where(active, m["status_date"][src], self.as_of - 900 * DAY)
        rows["id_mode"] = np.full(len(src), 5, dtype=np.int8)
        rows["id_override"] = src.astype(object)
        rows["special"] = np.ones(len(src), dtype=bool)
        copies = m.append(rows)
        for i, jdx in zip(src, copies, strict=True):
            for x, other in ((i, jdx), (jdx, i)):
                self.exp(
                    "DUPLICATE_PERSON",
                    m["cell"][x],
                    self.code(x),
                    "personal_id",
                    note=f"same personal ID as {self.code(other)} ({m['status'][jdx]} record)",
                )

    def plant_invalid_id(self):
        m = self.m
        for j, i in enumerate(self.take(self.k)):
            variant = j % 5
            by = int(year_of(np.array([m["birth"][i]]))[0])
            female = bool(m["female"][i])
            cg = (by - 1900) // 100 * 2 + int(female)
            tail = f"{int(self.rng.integers(*self.region.tail_range)):06d}"  # never another province's
            if variant == 0:
                pid = f"{names.INVALID_PROVINCE_CODES[j % 4]:03d}{cg}{by % 100:02d}{tail}"
                what = "province code"
            elif variant == 1:
                pid = f"093{cg ^ 1}{by % 100:02d}{tail}"
                what = "gender digit"
            elif variant == 2:
                pid = f"093{(cg + 2) % 10}{by % 100:02d}{tail}"
                what = "century digit"
            elif variant == 3:
                pid = f"093{cg}{(by + 3) % 100:02d}{tail}"
                what = "birth-year digits"
            else:
                pid = f"093{cg}{by % 100:02d}{tail}"[:10]
                what = "10 digits"
            m["id_mode"][i] = 4
            m["id_override"][i] = pid
            self.exp("INVALID_PERSONAL_ID", self.cell(i), self.code(i), "personal_id", note=f"wrong {what}")
            if j % 5 == 4 and j >= 5 or (self.k < 5 and j == 0):
                # The cell has the right ID: also a field mismatch.
                self.overrides[i]["personal_id"] = "TRUE"
                self.exp(
                    "ROSTER_FIELD_MISMATCH",
                    self.cell(i),
                    self.code(i),
                    "personal_id",
                    note="derived: the cell lists the valid ID",
                )


def _other_name(name: str, original: str) -> str:
    """``name``, or a visibly different one when it would compare equal to ``original`` (a name
    without diacritics stays the same once its marks are stripped; a random name may repeat)."""

    def key(v: str) -> str:
        return unicodedata.normalize("NFC", " ".join(v.split())).lower()

    if key(name) != key(original):
        return name
    words = original.split()
    swapped = " ".join([*words[:-2], words[-1], words[-2]]) if len(words) >= 2 else original
    return swapped if key(swapped) != key(original) else original + " Văn"


def _strip_marks(name: str) -> str:
    """The name typed without diacritics (a real mismatch: folding keeps the marks)."""
    import unicodedata

    base = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in base if unicodedata.category(ch) != "Mn")
