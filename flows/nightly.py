"""The nightly reconciliation: extract, validate, reconcile, publish.

`dvsync nightly` and the `nightly-reconciliation` deployment run this flow; with no sources it
runs on the bundled demo data.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pandas as pd
from prefect import flow, get_run_logger, unmapped

from dvsync.datasets import RunContext
from dvsync.inputs import resolve_inputs
from flows import tasks


@flow(name="nightly-reconciliation", log_prints=True)
def nightly_reconciliation(
    central: str | None = None,
    submissions: str | None = None,
    out: str | None = None,
    as_of: str | None = None,
    period: str | None = None,
    results: str | None = None,
    mapping: str | None = None,
    committee: str | None = None,
    mode: str = "nightly",
    chunk_size: int = 100_000,
    dask_workers: int = 0,
) -> dict:
    """Reconcile the central member database with the cells' submissions and publish the lists.

    ``committee`` limits the run's outputs to one committee's subtree (the dossier audit).
    ``dask_workers`` > 0 splits the workbooks into batches for that many task-runner workers.
    Returns the run summary (also written to ``summary.json``).
    """
    from connectors.publish.artifacts import install_log_masking

    install_log_masking()  # before anything logs: personal IDs never reach the logs unmasked
    logger = get_run_logger()
    tasks.STAGE_SECONDS.clear()
    started = time.perf_counter()
    inp = resolve_inputs(central, submissions, out, as_of, period, results, log=logger.info)
    ctx = RunContext(as_of=inp.as_of, period=inp.period, mode=mode)
    logger.info("Đối soát ngày %s, kỳ %s (%s)", inp.as_of.strftime("%d/%m/%Y"), inp.period, mode)

    raw = tasks.extract_central(inp.central, mapping, chunk_size)
    central_data, central_q, central_counts = tasks.validate_central(raw)
    del raw
    new, present = tasks.inventory_workbooks(str(inp.submissions), inp.results)
    # Batches of workbooks: parsed by a local process pool one after the other, or all at once on
    # the Dask workers when scaled out; each is stored as it arrives (the store has one writer).
    batches = _batches(new, dask_workers)
    if dask_workers:
        parsed = tasks.parse_workbooks.map(batches, workers=unmapped(1))
        loads = [tasks.load_batch(future.result(), inp.results) for future in parsed]
    else:
        loads = [tasks.load_batch(tasks.parse_workbooks(b, inp.workers), inp.results) for b in batches]
    subs, subs_q, files = tasks.store_submissions(loads, inp.results, inp.period, present)

    findings = tasks.reconcile(central_data, subs, ctx)
    if committee:
        findings = tasks.scope_to_committee(findings, central_data.organizations, committee)

    run = {
        "run_id": uuid.uuid4().hex,
        "as_of": inp.as_of.strftime("%Y-%m-%d"),
        "period": inp.period,
        "mode": mode,
        "committee": committee,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    findings = tasks.record_history(inp.results, run, findings)
    quarantine = pd.concat([central_q, subs_q], ignore_index=True)
    summary = tasks.build_summary(
        inp, run, central_counts, subs, subs_q, files, findings, quarantine, time.perf_counter() - started
    )
    tasks.publish(findings, quarantine, summary, central_data.organizations, inp, committee)
    logger.info("Kết quả tại %s", inp.out)
    return summary


def _batches(items: list, dask_workers: int, size: int = 2000) -> list[list]:
    """Split the new workbooks into batches of at most `size` (at least one per Dask worker)."""
    n = max(dask_workers, -(-len(items) // size), 1)
    return [items[i * len(items) // n : (i + 1) * len(items) // n] for i in range(n)]
