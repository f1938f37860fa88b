"""The run's shared inputs that belong to no one family: the screened members and the rows of the
run's workbooks. Each is computed once per run, on first use (``rules.registry``); the families
provide their own (``roster_match``, ``paired_in``, ``badge_candidates``, ...)."""

from __future__ import annotations

from dataclasses import fields

from rules.common import period_rows, period_rows_all, screened, submitted_cells
from rules.registry import REGISTRY
from schemas.datasets import SubmissionData

# Members the screening lists look at (filtered once; the rules' own screened() then costs nothing).
REGISTRY.provides("screened", members="central.members")(screened)

for _t in (f.name for f in fields(SubmissionData) if f.name != "workbooks"):
    # period.<table>: the rows of the run's workbooks of the period (one workbook per cell).
    REGISTRY.provides(
        f"period.{_t}", rows=f"submissions.{_t}", workbooks="submissions.workbooks", period="period"
    )(period_rows)
    # live.<table>: the rows of every live workbook, whatever the period (a transfer is reported once).
    REGISTRY.provides(f"live.{_t}", rows=f"submissions.{_t}", workbooks="submissions.workbooks")(
        period_rows_all
    )

# Cells that sent a workbook for the period (a roster row also proves one).
REGISTRY.provides("cells_sent", workbooks="submissions.workbooks", roster="period.roster", period="period")(
    submitted_cells
)
