"""The ad hoc full dossier audit of one committee's subtree (`dvsync audit`, deployment `dossier-audit`).

Its outputs go under ``<out>/audits/<committee>/<as_of>/`` (never over the nightly's files), its
history is kept under its own scope and its artifacts under their own keys.
"""

from __future__ import annotations

from prefect import flow

from flows.nightly import _run_name, reconcile_and_publish
from schemas.settings import DEFAULT_CHUNK_SIZE, DEFAULT_PARTITION_MEMBERS


@flow(name="dossier-audit", log_prints=True, flow_run_name=lambda: _run_name("audit"))
def dossier_audit(
    committee: str,
    as_of: str | None = None,
    central: str | None = None,
    submissions: str | None = None,
    out: str | None = None,
    period: str | None = None,
    results: str | None = None,
    mapping: str | None = None,
    demo: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    dask_workers: int = 0,
    partition_members: int = DEFAULT_PARTITION_MEMBERS,
    responses: str | None = None,
) -> dict:
    """Every required dossier document of every year, for the committee's members only.

    Sources not given as parameters come from the worker's environment, as for the nightly."""
    return reconcile_and_publish(
        central,
        submissions,
        out,
        as_of,
        period,
        results,
        mapping,
        committee,
        demo,
        chunk_size,
        dask_workers,
        partition_members,
        responses,
    )
