"""The demo data set: clean population, planted anomalies, near misses, and the expected findings.

Each planted anomaly sits on its own member(s), taken from a pool of "ordinary" members (active,
official, 2-26 years of party age, no gap, no transfer, valid ID, in a cell that submits), so that
its side effects are the ones recorded next to it. Findings that docs/rules.md derives from a plant
(SCREEN_TRANSFER_RULES from TRANSFER_OVERDUE, ROSTER_MISSING_IN_CELL from a wrong-cell listing, ...)
are recorded by the plant that causes them, with a note.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dvsync.demo import names
from dvsync.demo.calendar import (
    DAY,
    add_months,
    add_working_days,
    add_years,
    d64,
    deadline_split,
    is_working_day,
    next_award,
    no_feb29,
    previous_award,
    year_of,
)
from dvsync.demo.population import (
    NAT,
    OUT_OF_SCOPE,
    PROVINCE,
    Members,
    badges,
    build_members,
    build_orgs,
    cell_sizes,
    gap_days,
    isin,
    person_id,
    personal_ids,
    reach_dates,
)
from schemas.contract import CENTRAL_TABLES, RATING_LABELS

# docs/rules.md leaves `field` open for these lists; the values are those rules/ emits.
FIELD = {
    "ROSTER_MISSING_IN_CELL": "roster",
    "ROSTER_NOT_IN_CENTRAL": "member_code",
    "ROSTER_WRONG_CELL": "cell_code",
    "ROSTER_INACTIVE_LISTED": "status",
    "SUBMISSION_MISSING": "period",
    "TRANSFER_OVERDUE": "received_on",
    "TRANSFER_NOT_NOTIFIED": "notice_sent_on",
    "TRANSFER_DOSSIER_MISSING": "dossier_received_on",
    "TRANSFER_UNMATCHED_IN": "transfer",
    "TRANSFER_STILL_ON_SENDER": "roster",
    "TEMP_TRANSFER_EXPIRED": "returned_on",
    "TRANSFER_FEES_GAP": "fees_paid_through",
    "PROBATION_OVERDUE": "official_date",
    "SCREEN_NOT_COMPLETED": "rating",
    "SCREEN_TRANSFER_RULES": "transfer",
    "SCREEN_DISCIPLINE": "discipline",
    "SCREEN_LOW_STANDING": "category",
    "REMOVAL_TWO_YEARS_KHT": "rating",
}
STATUS_LABEL = {"active": "Đang sinh hoạt", "exempt": "Miễn sinh hoạt", "guest": "Sinh hoạt tạm thời"}
BASE_DOCS = ["CN-NTVD", "1-KND", "2-KND", "3-KND", "QD-KN", "1-HSDV", "2-HSDV"]
RATING_P = {"HTXSNV": 0.12, "HTTNV": 0.62, "HTNV": 0.26}


def per_code(members: int) -> int:
    """Planted cases per list code: 5 at 2,000-10,000 members, N/2000 above, fewer for tiny sets."""
    return max(min(5, max(1, members // 400)), members // 2000)


def iso(d) -> str | None:
    return None if d is None or np.isnat(d) else str(np.datetime64(d, "D"))


def ym(d) -> str:
    return str(np.datetime64(d, "M"))


@dataclass(frozen=True)
class Region:
    """The province a Demo builds: the single demo province (Cần Thơ's committee, M1 "93") by
    default, or one of the 34 of a national data set (names.PROVINCES_2025), ``slot`` (i, n)."""

    code: str = PROVINCE
    name: str = names.PROVINCE_NAME
    cccd: tuple[int, ...] = ()
    slot: tuple[int, int] = (0, 1)
    out_of_scope: tuple[str, ...] = tuple(OUT_OF_SCOPE)

    @property
    def own_cccd(self) -> int:
        return self.cccd[0] if self.cccd else 93

    @property
    def home_cccd(self) -> list[int] | None:
        return list(self.cccd) if self.cccd else None  # None: the single demo's mix

    @property
    def near_cccd(self) -> list[int]:
        return list(self.cccd) if self.cccd else [92, 93, 94]

    @property
    def tail_range(self) -> tuple[int, int]:
        """The members' ID serials of this province (personal_ids draws from the same range)."""
        return self.slot[0] * 900_000 // self.slot[1], (self.slot[0] + 1) * 900_000 // self.slot[1]

    @property
    def unknown_offset(self) -> int:
        return self.slot[0] * (99_999 // self.slot[1]) if self.slot[1] > 1 else 0


class Demo:
    """Builds every table in memory; ``central_tables`` and ``workbook_frames`` export them."""

    def __init__(self, members: int, seed: int, as_of: date, period: str, region: Region | None = None):
        self.n_target = members
        # One province's tree of a national data set (codes, birth-registration codes, its own
        # range of ID serials), or the single demo province.
        self.region = region or Region()
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.as_of = d64(as_of)
        self.period = period
        self.pm = np.datetime64(period, "M")
        self.A = next_award(self.as_of)
        self.P = previous_award(self.A)
        self.LY = int(year_of(np.array([self.as_of]))[0]) - 1  # latest rated year
        self.win_start = add_months(np.array([self.as_of]), -12)[0]  # (as_of - 12 months, as_of]
        self.k = per_code(members)
        self.expected: list[dict] = []
        self.near: list[dict] = []
        self.transfers: list[dict] = []
        self.drop_own: set[int] = set()
        self.added: list[dict] = []
        self.overrides: dict[int, dict] = defaultdict(dict)
        self.guests: list[tuple[str, int]] = []
        self.away: set[int] = set()  # on temporary transfer: excused at home
        self.sinh: list[dict] = []
        self.extra_wb: dict[str, set[str]] = defaultdict(set)
        self.candidates: list[dict] = []
        self.danhgia: list[dict] = []
        self.chuyenden_extra: list[dict] = []
        self.rating_over: dict[int, dict[int, str]] = defaultdict(dict)
        self.doc_remove: set[tuple[int, str, int]] = set()
        self.disc: list[dict] = []
        self.roster_ids: dict[int, str] = {}  # roster shows an ID central lacks
        self.unknown_tail = 0

    # --- helpers ---------------------------------------------------------------------------
    def exp(
        self, code: str, org: str, member: str | None, field: str | None = None, ref: str = "", note: str = ""
    ):
        if code == "REMOVAL_ABSENCE_OR_FEES" and not ref:
            ref = self.period[:4]  # the calendar year counted (rules/ uses it as ref)
        self.expected.append(
            {
                "list_code": code,
                "org_code": org,
                "member_code": member or "",
                "field": field if field is not None else FIELD.get(code, ""),
                "ref": ref,
                "note": note,
            }
        )

    def miss(self, code: str, org: str, member: str, note: str):
        """A near miss: looks like ``code`` but must not be found."""
        self.near.append({"not_list_code": code, "org_code": org, "member_code": member, "note": note})

    def take(self, n: int) -> np.ndarray:
        got = self.pool[self.cursor : self.cursor + n]
        self.cursor += len(got)
        self.m["special"][got] = True
        return got

    def code(self, i: int) -> str:
        return self.m["code"][i]

    def cell(self, i: int) -> str:
        return self.m["cell"][i]

    def other_cell(self, c: str) -> str:
        while True:
            x = self.submitting[int(self.rng.integers(len(self.submitting)))]
            if x != c or len(self.submitting) == 1:
                return x

    def new_tail(self) -> int:
        self.unknown_tail += 1
        # Disjoint from the members' tails, and from the other provinces' unknown people.
        if self.region.slot[1] > 1 and self.unknown_tail >= 99_999 // self.region.slot[1]:
            raise RuntimeError(f"province {self.region.code}: more unknown people than its ID range")
        return 900_000 + self.region.unknown_offset + self.unknown_tail

    def transfer(
        self,
        i: int,
        kind: str,
        from_cell: str,
        to_org: str,
        letter,
        *,
        notice=True,
        received=None,
        dossier=True,
        until=None,
        returned=None,
        fees=None,
        in_cell: str | None = None,
    ) -> str:
        # A national data set: the province's code in the ID, unique across provinces.
        national = self.region.code if self.region.slot[1] > 1 else ""
        tid = f"CS{national}{len(self.transfers) + 1:07d}"
        letter = np.datetime64(letter, "D")
        rec = None if received is None else np.datetime64(received, "D")
        self.transfers.append(
            {
                "transfer_id": tid,
                "member": i,
                "kind": kind,
                "from_cell": from_cell,
                "to_org": to_org,
                "letter_date": letter,
                "notice_sent_on": min(letter + int(self.rng.integers(0, 4)) * DAY, self.as_of)
                if notice
                else NAT,
                "received_on": rec if rec is not None else NAT,
                "dossier_received_on": (
                    min(rec + int(self.rng.integers(0, 6)) * DAY, self.as_of)
                    if rec is not None and dossier
                    else NAT
                ),
                "temporary_until": NAT if until is None else np.datetime64(until, "D"),
                "returned_on": NAT if returned is None else np.datetime64(returned, "D"),
                "fees_paid_through": fees or ym(letter),
                "in_cell": in_cell,
            }
        )
        return tid

    def set_admission(self, i: int, decision: np.datetime64, official: bool | None = None):
        """New admission dates for member i (ceremony 1-6 weeks after the decision), keeping age >= 18."""
        decision = no_feb29(np.array([decision]))[0]
        ceremony = no_feb29(
            np.array([min(decision + int(self.rng.integers(7, 40)) * DAY, self.as_of - DAY)])
        )[0]
        m = self.m
        m["decision"][i] = decision
        m["ceremony"][i] = ceremony
        end = add_months(np.array([ceremony]), 12)[0]
        is_official = end <= self.as_of if official is None else official
        m["official"][i] = end if is_official else NAT
        m["status_date"][i] = end if is_official else ceremony
        min_birth_gap = add_months(np.array([m["birth"][i]]), 18 * 12 + 3)[0]
        if decision < min_birth_gap:
            m["birth"][i] = (
                add_years(np.array([decision]), -int(self.rng.integers(22, 35)))[0]
                - int(self.rng.integers(0, 300)) * DAY
            )

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

    # --- the clean background: transfers, guests, old disciplines, near misses ------------------
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

    def probation_ceremony(self, overdue: bool) -> np.datetime64:
        """A ceremony date whose probation + 30 working days ends exactly on as_of (or the day before)."""
        cands = add_months(np.array([self.as_of]), -12)[0] - np.arange(0, 120) * DAY
        cands = cands[is_working_day(cands)]
        ends = add_months(cands, 12)
        due = add_working_days(ends, 30)
        ok = (add_months(ends, -12) == cands) & (due < self.as_of if overdue else due >= self.as_of)
        sel = cands[ok]
        return sel[0] if overdue else sel[-1]

    def discipline(self, i: int, when, form: str):
        self.disc.append(
            {
                "member": i,
                "decided_on": np.datetime64(when, "D"),
                "form": form,
                "decided_by": self.grass.get(self.cell(i)) or self.cell(i),
            }
        )

    def gap(self, i: int, start, days: int):
        self.m["gap_from"][i] = np.datetime64(start, "D")
        self.m["gap_to"][i] = np.datetime64(start, "D") + days * DAY

    # --- planted anomalies ---------------------------------------------------------------
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

    def months_before(self, n: int) -> list[str]:
        """Up to n months before the period, latest first, in the period's calendar year only."""
        return [str(self.pm - d) for d in range(1, n + 1) if str(self.pm - d)[:4] == self.period[:4]]

    def absent(self, i: int, months: list[str], attended=False, excused=False, fees=True, resend=False):
        """SinhHoat rows of member i for ``months`` (an earlier workbook each, or resent in the period's)."""
        c = self.cell(i)
        for mo in months:
            wb = self.period if (resend or mo == self.period) else mo
            if wb != self.period:
                self.extra_wb[c].add(wb)
            self.sinh.append(
                {
                    "cell": c,
                    "member": i,
                    "month": mo,
                    "attended": attended,
                    "excused": excused,
                    "fees": fees,
                    "wb": wb,
                }
            )

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

    def plant_admission(self):
        variants_ok = ["cadre_xs", "cadre_cstd", "cadre_merit", "student", "age18_cert5", "age60", "feb29"]
        variants_ko = [
            "age17",
            "age61",
            "cert_old",
            "not_verified",
            "no_conclusion",
            "cadre_htnv",
            "cadre_plain",
            "student_one_gioi",
            "student_tb",
        ]
        todo = [(v, True) for v in variants_ok] + [(v, False) for v in variants_ko]
        n = max(self.k * 2, len(todo) if self.k >= 3 else 4)
        for j in range(n):
            v, ok = todo[j % len(todo)] if self.k >= 3 else todo[[0, 3, 7, 9][j % 4]]
            self.candidate(v, ok)

    def candidate(self, v: str, ok: bool):
        rng, a = self.rng, self.as_of
        female = bool(rng.random() < 0.5)
        student = v.startswith("student")
        birth = a - int(rng.integers((19 if student else 24) * 365, (23 if student else 45) * 365)) * DAY
        if v == "age18_cert5":
            birth = add_years(np.array([a]), -18)[0]
        elif v == "age60":
            birth = add_years(np.array([a]), -61)[0] + DAY
        elif v == "feb29":
            birth = np.datetime64("2004-02-29")
        elif v == "age17":
            birth = add_years(np.array([a]), -18)[0] + DAY
        elif v == "age61":
            birth = add_years(np.array([a]), -61)[0]
        cert = a - int(rng.integers(60, 1500)) * DAY
        if v == "age18_cert5":
            cert = add_years(np.array([a]), -5)[0]
        elif v == "cert_old":
            cert = add_years(np.array([a]), -5)[0] - DAY
        if student:
            ratings = {
                "student": ["Giỏi", "Khá", "Xuất sắc"],
                "student_one_gioi": ["Khá", "Giỏi", "Khá"],
                "student_tb": ["Giỏi", "Trung bình", "Giỏi"],
            }[v]
        else:
            ratings = {
                "cadre_xs": ["HTTNV", "HTXSNV", "HTTNV"],
                "cadre_htnv": ["HTTNV", "HTNV", "HTXSNV"],
                "cadre_plain": ["HTTNV", "HTTNV", "HTTNV"],
            }.get(v, ["HTTNV", "HTXSNV", "HTTNV"])
            if v in ("cadre_cstd", "cadre_merit"):
                ratings = ["HTTNV", "HTTNV", "HTTNV"]
            if rng.random() < 0.5:  # full text or code, both accepted
                ratings = [RATING_LABELS[r] for r in ratings]
        cell = self.submitting[int(rng.integers(len(self.submitting)))]
        pid = person_id(int(rng.choice(self.region.near_cccd)), birth, female, self.new_tail())
        verified = v != "not_verified"
        self.candidates.append(
            {
                "cell": cell,
                "personal_id": pid,
                "full_name": names.full_names(rng, np.array([female]))[0],
                "birth_date": birth,
                "candidate_kind": "Học sinh, sinh viên" if student else "Cán bộ",
                "rating_y1": ratings[0],
                "rating_y2": ratings[1],
                "rating_y3": ratings[2],
                "emulation_fighter": v == "cadre_cstd",
                "provincial_merit": v == "cadre_merit",
                "course_certificate_on": cert,
                "background_verified": verified,
                "political_conclusion_on": NAT
                if v == "no_conclusion"
                else a - int(rng.integers(10, 200)) * DAY,
            }
        )
        code = "ADMISSION_ELIGIBLE" if ok else "ADMISSION_NOT_ELIGIBLE"
        masked = "*" * 8 + pid[-4:]
        self.exp(code, cell, masked, "student" if student else "cadre", note=f"candidate: {v}")

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

    # --- exports -------------------------------------------------------------------------------
    def central_tables(self) -> dict[str, pd.DataFrame]:
        m, rng, o = self.m, self.rng, self.orgs
        n = len(m)
        orgs = pd.DataFrame(
            {
                "org_code": o.code,
                "name": o.name,
                "kind": o.kind,
                "parent_code": o.parent,
                "active": o.active.astype(int),
            }
        )
        official = ~np.isnat(m["official"])
        card = np.full(n, None, dtype=object)
        nums = rng.choice(90_000_000, size=int(official.sum()), replace=False) + 10_000_000
        card[official] = nums.astype(str).astype(object)
        serial = np.zeros(n, dtype=np.int64)
        for dc in names.DOSSIER_CODES:  # unique 6-digit serial per province letter code
            sel = np.flatnonzero(m["dossier_code"] == dc)
            # More than 999,999 members under one code (a national data set): 7-digit serials.
            top = min(len(sel) * 2, 999_999) if len(sel) <= 999_999 else len(sel) * 2
            serial[sel] = rng.permutation(top or 1)[: len(sel)] + 1
        dossier = np.char.add(np.char.zfill(serial.astype(str), 6), m["dossier_code"].astype(str)).astype(
            object
        )
        seconds = rng.integers(0, 86400 * 30, n)
        upd = m["status_date"].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        upd = np.minimum(upd, self.as_of.astype("datetime64[s]") - np.timedelta64(3600, "s"))
        members = pd.DataFrame(
            {
                "member_code": m["code"],
                "full_name": m["full_name"],
                "gender": np.where(m["female"], "Nữ", "Nam"),
                "birth_date": _iso(m["birth"]),
                "personal_id": self.ids,
                "dossier_no": dossier,
                "card_no": card,
                "admission_decision_date": _iso(m["decision"]),
                "admission_date": _iso(m["ceremony"]),
                "official_date": _iso(m["official"]),
                "cell_code": m["cell"],
                "status": m["status"],
                "status_date": _iso(m["status_date"]),
                "updated_at": np.char.replace(np.datetime_as_string(upd, unit="s"), "T", " ").astype(object),
            }
        )
        return {
            "organizations": orgs,
            "members": members,
            "ratings": self.ratings_table(),
            "disciplines": self.disciplines_table(),
            "transfers": self.transfers_table(),
            "dossier_documents": self.documents_table(),
            "badges": self.badges_table(),
            "activity_gaps": self.gaps_table(),
        }

    def rated(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, rng = self.m, self.rng
        idx, yrs, val = [], [], []
        cy = year_of(m["ceremony"])
        sy = year_of(m["status_date"])
        levels = np.array(list(RATING_P), dtype=object)
        p = np.array(list(RATING_P.values()))
        for y in range(self.LY - 2, self.LY + 1):
            ok = ((m["status"] == "active") | ((m["status"] == "exempt") & (sy > y))) & (cy <= y)
            sel = np.flatnonzero(ok)
            idx.append(sel)
            yrs.append(np.full(len(sel), y))
            val.append(levels[rng.choice(3, size=len(sel), p=p)])
        idx, yrs, val = np.concatenate(idx), np.concatenate(yrs), np.concatenate(val)
        if self.rating_over:
            df = pd.DataFrame({"i": idx, "y": yrs, "r": val})
            over = pd.DataFrame(
                [(i, y, r) for i, d in self.rating_over.items() for y, r in d.items()],
                columns=["i", "y", "r"],
            )
            df = pd.concat([df, over]).drop_duplicates(["i", "y"], keep="last").sort_values(["i", "y"])
            idx, yrs, val = df["i"].to_numpy(), df["y"].to_numpy(), df["r"].to_numpy()
        self._ratings = (idx, yrs, val)
        return idx, yrs, val

    def ratings_table(self) -> pd.DataFrame:
        idx, yrs, val = self.rated()
        return pd.DataFrame({"member_code": self.m["code"][idx], "year": yrs, "rating": val})

    def disciplines_table(self) -> pd.DataFrame:
        m = self.m
        exp = np.flatnonzero(m["status"] == "expelled")
        rows = [
            {
                "member_code": m["code"][i],
                "decided_on": iso(m["status_date"][i]),
                "form": "khai_tru",
                "decided_by": self.grass.get(m["cell"][i]) or m["cell"][i],
            }
            for i in exp
        ]
        rows += [
            {
                "member_code": m["code"][d["member"]],
                "decided_on": iso(d["decided_on"]),
                "form": d["form"],
                "decided_by": d["decided_by"],
            }
            for d in self.disc
        ]
        return pd.DataFrame(rows, columns=CENTRAL_TABLES["disciplines"])

    def transfers_table(self) -> pd.DataFrame:
        cols = CENTRAL_TABLES["transfers"]
        rows = []
        for t in self.transfers:
            r = {c: t.get(c) for c in cols}
            r["member_code"] = self.code(t["member"])
            for c in cols[5:11]:
                r[c] = iso(t[c])
            rows.append(r)
        return pd.DataFrame(rows, columns=cols)

    def documents_table(self) -> pd.DataFrame:
        m, rng = self.m, self.rng
        n = len(m)
        dec, cer, off = m["decision"], m["ceremony"], m["official"]
        parts = []

        def add(code: str, sel: np.ndarray, when: np.ndarray, year: int = -1):
            parts.append((sel, np.full(len(sel), code, dtype=object), np.minimum(when, self.as_of), year))

        everyone = np.arange(n)
        for code, lo, hi in [
            ("CN-NTVD", -400, -150),
            ("1-KND", -120, -60),
            ("2-KND", -100, -40),
            ("3-KND", -90, -30),
        ]:
            add(code, everyone, dec + rng.integers(lo, hi, n) * DAY)
        add("QD-KN", everyone, dec)
        add("1-HSDV", everyone, cer + rng.integers(10, 60, n) * DAY)
        add("2-HSDV", everyone, cer + rng.integers(10, 60, n) * DAY)
        o = np.flatnonzero(~np.isnat(off))
        add("QD-CT", o, off[o] + rng.integers(5, 30, len(o)) * DAY)
        y = np.flatnonzero(year_of(cer) < self.LY)
        jan = np.datetime64(f"{self.LY + 1}-01-10")
        add("3-HSDV", y, jan + rng.integers(0, 80, len(y)) * DAY, self.LY)
        idx = np.concatenate([p[0] for p in parts])
        code = np.concatenate([p[1] for p in parts])
        when = np.concatenate([p[2] for p in parts])
        year = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        if self.doc_remove:
            key = pd.MultiIndex.from_arrays([idx, code])
            drop = pd.MultiIndex.from_tuples([(i, c) for i, c, _y in self.doc_remove])
            keep = ~key.isin(drop)
            idx, code, when, year = idx[keep], code[keep], when[keep], year[keep]
        order = np.lexsort((code, idx))
        idx, code, when, year = idx[order], code[order], when[order], year[order]
        return pd.DataFrame(
            {
                "member_code": m["code"][idx],
                "doc_type": code,
                "year": pd.Series(year).where(year > 0).astype("Int64"),
                "received_on": _iso(when),
            }
        )

    def badges_table(self) -> pd.DataFrame:
        idx, years, awarded = badges(self.m, self.P)
        order = np.lexsort((years, idx))
        return pd.DataFrame(
            {
                "member_code": self.m["code"][idx[order]],
                "years": years[order],
                "awarded_on": _iso(awarded[order]),
            }
        )

    def gaps_table(self) -> pd.DataFrame:
        m = self.m
        sel = np.flatnonzero(~np.isnat(m["gap_from"]))
        return pd.DataFrame(
            {
                "member_code": m["code"][sel],
                "from_date": _iso(m["gap_from"][sel]),
                "to_date": _iso(m["gap_to"][sel]),
            }
        )

    def expected_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            self.expected, columns=["list_code", "org_code", "member_code", "field", "ref", "note"]
        )
        return df.sort_values(
            ["list_code", "org_code", "member_code", "field", "ref"], kind="stable"
        ).reset_index(drop=True)

    def near_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.near, columns=["not_list_code", "org_code", "member_code", "note"])


def _iso(d: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(np.asarray(d, dtype="datetime64[D]"), unit="D").astype(object)
    s[np.isnat(np.asarray(d, dtype="datetime64[D]"))] = None
    return s


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


__all__ = ["Demo", "per_code", "gap_days", "reach_dates", "Members"]
