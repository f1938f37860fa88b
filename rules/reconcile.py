"""reconcile(): every rule of the contract over one run's data (pure: DataFrames in, findings out).

The rules register themselves (``rules.registry``): importing the families here completes the
registry, which runs them in the order the lists' dependencies declare (``schemas.lists``)."""

from __future__ import annotations

import pandas as pd

from rules import admission, badges, dossier, identity, inputs, roster, screening, transfers  # noqa: F401 (they register)
from rules.findings import finalize
from rules.registry import MEMBER, REGISTRY, TREE, Scope, concat_findings
from schemas.datasets import CentralData, RunContext, SubmissionData
from schemas.lists import LISTS


def _families(scope: Scope | None, found: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Findings by family (the lists of a family in the lists' order); every family with a rule
    in ``scope`` has its key, empty or not."""
    planned = {c for r in REGISTRY.plan(scope) for c in r.codes}
    out: dict[str, list[pd.DataFrame]] = {}
    for code in (c for c in LISTS if c in planned):
        out.setdefault(LISTS[code].family, []).append(found[code])
    return {family: concat_findings(frames) for family, frames in out.items()}


def member_rules(
    central: CentralData, submissions: SubmissionData, ctx: RunContext
) -> dict[str, pd.DataFrame]:
    """The rules of scope "member" (identity, dossier, screening, badges): one member at a time.

    Each member's findings depend only on that member's rows, so these run per partition:
    ``central`` holds the partition's members and their ratings, disciplines, documents, badges
    and gaps; ``submissions`` the SinhHoat and DanhGia rows of those members (and every workbook)."""
    return _families(MEMBER, REGISTRY.run(central, submissions, ctx, scope=MEMBER))


def tree_rules(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The rules of scope "tree", that cross cells and partitions: transfers (two ends), rosters (a
    member listed elsewhere, a person twice) and admission. They need every member but none of the
    big member tables (ratings, documents), so they run once over the whole tree."""
    return _families(TREE, REGISTRY.run(central, submissions, ctx, scope=TREE))


def run_rules(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Every family's raw findings (before ``finalize``), keyed by family name: the member-level
    rules and the tree-level ones over the same data (one partition), sharing its inputs."""
    return _families(None, REGISTRY.run(central, submissions, ctx))


def reconcile(central: CentralData, submissions: SubmissionData, ctx: RunContext) -> pd.DataFrame:
    """All findings of the run, finalized (id, committee, severity, source), deterministic order."""
    found = run_rules(central, submissions, ctx)
    return finalize_findings(list(found.values()), central.organizations, ctx)


def finalize_findings(
    found: list[pd.DataFrame], organizations: pd.DataFrame, ctx: RunContext
) -> pd.DataFrame:
    """Raw findings of any number of partitions and families -> the run's findings. The order of
    the pieces does not matter: ``finalize`` sorts and identifies every row."""
    return finalize(concat_findings(found), organizations, ctx.as_of)
