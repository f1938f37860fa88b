"""The expected findings and near misses a Demo records as it plants (expected_findings.csv,
near_misses.csv), with the `field` each list carries."""

from __future__ import annotations

import pandas as pd

from dvsync.demo.base import DemoBase

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


class Findings(DemoBase):
    """Records what rules/ must find (``exp``) and what it must not (``miss``)."""

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

    def expected_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            self.expected, columns=["list_code", "org_code", "member_code", "field", "ref", "note"]
        )
        return df.sort_values(
            ["list_code", "org_code", "member_code", "field", "ref"], kind="stable"
        ).reset_index(drop=True)

    def near_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.near, columns=["not_list_code", "org_code", "member_code", "note"])
