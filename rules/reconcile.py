"""reconcile(): every rule of the contract over one run's data (pure: DataFrames in, findings out)."""

from __future__ import annotations

import pandas as pd

from rules import admission as ad
from rules import badges as bd
from rules import dossier as do
from rules import identity as idn
from rules import roster as ro
from rules import screening as sc
from rules import transfers as tr
from rules.common import live_workbooks, none, period_rows, screened, submitted_cells
from rules.findings import finalize
from schemas.datasets import CentralData, RunContext, SubmissionData


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else none()


def member_rules(
    central: CentralData, submissions: SubmissionData, ctx: RunContext
) -> dict[str, pd.DataFrame]:
    """The families that look at one member at a time (identity, dossier, screening, badges).

    Each member's findings depend only on that member's rows, so these run per partition:
    ``central`` holds the partition's members and their ratings, disciplines, documents, badges
    and gaps; ``submissions`` the SinhHoat and DanhGia rows of those members (and every workbook)."""
    as_of, period = pd.Timestamp(ctx.as_of).normalize(), ctx.period
    wb = submissions.workbooks
    scr = screened(central.members)  # filtered once; the rules' own screened() then costs nothing
    out: dict[str, pd.DataFrame] = {}
    out["identity"] = idn.invalid_personal_id(scr)
    out["dossier"] = _concat(
        [
            do.dossier_missing_doc(scr, central.dossier_documents, as_of, ctx.mode),
            do.probation_overdue(scr, as_of),
        ]
    )
    # Removal lists first: BADGE_WITHHELD depends on them.
    removal = _concat(
        [
            sc.removal_absence_or_fees(scr, submissions.activity, wb, period),
            sc.removal_two_years_kht(scr, central.ratings),
        ]
    )
    out["screening"] = _concat(
        [
            sc.screen_not_completed(scr, central.ratings),
            sc.screen_discipline(scr, central.disciplines, as_of),
            sc.screen_low_standing(scr, period_rows(submissions.screening, wb, period), period),
            removal,
        ]
    )
    # Computed once for both badge lists (the milestone dates of every member).
    candidates = bd.badge_candidates(scr, central.activity_gaps, central.badges, as_of)
    badge_args = (scr, central.activity_gaps, central.badges, central.disciplines, removal, as_of, candidates)
    out["badges"] = _concat([bd.badge_due(*badge_args), bd.badge_withheld(*badge_args)])
    return out


def tree_rules(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The families that cross cells and partitions: transfers (two ends), rosters (a member listed
    elsewhere, a person twice) and admission. They need every member but none of the big member
    tables (ratings, documents), so they run once over the whole tree."""
    as_of, period = pd.Timestamp(ctx.as_of).normalize(), ctx.period
    members, orgs, transfers = central.members, central.organizations, central.transfers
    wb = submissions.workbooks
    roster = period_rows(submissions.roster, wb, period)
    transfers_in = period_rows(submissions.transfers_in, wb, period)
    cells_sent = submitted_cells(wb, roster, period)
    # For pairing, the cells' transfer rows of every live workbook (a transfer is reported once).
    all_out = period_rows_all(submissions.transfers_out, wb)
    all_in = period_rows_all(submissions.transfers_in, wb)

    scr = screened(members)
    out: dict[str, pd.DataFrame] = {}
    paired_out, paired_in = tr.pair_out(transfers, all_out), tr.pair_in(transfers, all_in, orgs)
    sos = tr.still_on_sender_pairs(transfers, members, roster)
    out["transfers"] = _concat(
        [
            tr.transfer_overdue(transfers, scr, as_of, paired_in, organizations=orgs),
            tr.transfer_not_notified(transfers, scr, paired_out, organizations=orgs),
            tr.transfer_dossier_missing(transfers, scr, paired_in, organizations=orgs),
            tr.transfer_unmatched_in(transfers, transfers_in, orgs),
            tr.transfer_still_on_sender(transfers, members, roster, sos, organizations=orgs),
            tr.temp_transfer_expired(transfers, scr, as_of, organizations=orgs),
            tr.transfer_fees_gap(transfers, scr, organizations=orgs),
        ]
    )
    match = ro.match_roster(members, roster)  # the rosters joined to central once, for every rule
    out["roster"] = _concat(
        [
            ro.roster_missing_in_cell(
                members, roster, transfers, cells_sent, period, match, organizations=orgs
            ),
            ro.roster_not_in_central(members, roster, period, match, organizations=orgs),
            ro.roster_wrong_cell(members, roster, sos, match, organizations=orgs),
            ro.roster_inactive_listed(members, roster, sos, match, organizations=orgs),
            ro.roster_field_mismatch(members, roster, match, organizations=orgs),
            ro.duplicate_person(members, roster, match, organizations=orgs),
            ro.submission_missing(orgs, members, cells_sent, period),
        ]
    )
    out["screening"] = sc.screen_transfer_rules(scr, out["transfers"])
    out["admission"] = ad.admission(
        period_rows(submissions.candidates, wb, period), as_of, organizations=orgs
    )
    return out


def run_rules(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Every family's raw findings (before ``finalize``), keyed by family name: the member-level
    families and the tree-level ones over the same data (one partition)."""
    out = member_rules(central, submissions, ctx)
    for family, found in tree_rules(central, submissions, ctx).items():
        out[family] = _concat([out[family], found]) if family in out else found
    return out


def period_rows_all(rows: pd.DataFrame, workbooks: pd.DataFrame) -> pd.DataFrame:
    """Rows of every live workbook (superseded ones dropped), whatever the period."""
    if rows.empty or "superseded" not in workbooks.columns:
        return rows
    gone = workbooks.loc[
        ~workbooks.index.isin(live_workbooks(workbooks).index), ["cell_code", "period", "_source"]
    ]
    if gone.empty:
        return rows
    keys = ["cell_code", "period", "_source"]
    hit = rows[keys].astype("string").merge(gone.astype("string").assign(_g=True), on=keys, how="left")["_g"]
    return rows[hit.isna().to_numpy()]


def reconcile(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> pd.DataFrame:
    """All findings of the run, finalized (id, committee, severity, source), deterministic order."""
    found = run_rules(central, submissions, ctx)
    return finalize_findings(list(found.values()), central.organizations, ctx)


def finalize_findings(
    found: list[pd.DataFrame], organizations: pd.DataFrame, ctx: RunContext
) -> pd.DataFrame:
    """Raw findings of any number of partitions and families -> the run's findings. The order of
    the pieces does not matter: ``finalize`` sorts and identifies every row."""
    return finalize(_concat(found), organizations, pd.Timestamp(ctx.as_of).normalize())
