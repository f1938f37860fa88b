"""The ad hoc full dossier audit of one committee's subtree (`dvsync audit`, deployment `dossier-audit`)."""

from __future__ import annotations

from prefect import flow

from flows.nightly import nightly_reconciliation


@flow(name="dossier-audit", log_prints=True)
def dossier_audit(
    committee: str,
    as_of: str | None = None,
    central: str | None = None,
    submissions: str | None = None,
    out: str | None = None,
    period: str | None = None,
    results: str | None = None,
    mapping: str | None = None,
) -> dict:
    """Every required dossier document of every year, for the committee's members only."""
    return nightly_reconciliation(
        central=central,
        submissions=submissions,
        out=out,
        as_of=as_of,
        period=period,
        results=results,
        mapping=mapping,
        committee=committee,
        mode="audit",
    )
