"""The state a Demo builds on: the province it builds (Region), how many cases each list gets,
and the helpers every part uses (draw ordinary members, record a transfer, an admission, a
discipline, a gap, absences)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from dvsync.demo import names
from dvsync.demo.calendar import (
    DAY,
    add_months,
    add_working_days,
    add_years,
    d64,
    is_working_day,
    next_award,
    no_feb29,
    previous_award,
    year_of,
)
from dvsync.demo.population import NAT, OUT_OF_SCOPE, PROVINCE, Members, Orgs


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


class DemoBase:
    """The members, organisations and records a Demo builds, and the helpers that change them."""

    # Set by Demo.build and Demo.derive (declared here for the parts that read them).
    orgs: Orgs
    m: Members
    code_pool: list[str]  # member codes not yet used (unknown people, duplicate records)
    grass: dict[str, str]  # cell -> its grassroots committee
    kind: dict[str, str]
    silent: set[str]  # cells that send no workbook
    submitting: np.ndarray
    pool: np.ndarray  # the ordinary members plants take from, in a random order
    cursor: int
    ids: np.ndarray
    in_transit: set[int]

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
