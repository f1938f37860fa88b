"""The nightly reconciliation: extract, validate, reconcile, publish.

`dvsync nightly` and the `nightly-reconciliation` deployment run this flow; with no sources it
runs on the bundled demo data.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, unmapped
from prefect.utilities.annotations import quote

from dvsync.datasets import RunContext
from dvsync.inputs import resolve_inputs
from dvsync.partitions import GLOBAL_TABLES, split_submissions
from dvsync.settings import Settings
from flows import tasks
from schemas.contract import CENTRAL_TABLES


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
    partition_members: int = 250_000,
) -> dict:
    """Reconcile the central member database with the cells' submissions and publish the lists.

    ``committee`` limits the run's outputs to one committee's subtree (the dossier audit).
    ``dask_workers`` > 0 splits the workbooks into batches, and the members into partitions, for
    that many task-runner workers. ``partition_members``: members per partition (about; a
    partition is a chunk of grassroots organisations, kept by province-level committee).
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

    # One snapshot read; the member tables go to their partitions as they are read (files under
    # the work folder when there is more than one partition: connectors.spill).
    base = Settings.from_env().work_dir or Path(inp.out)  # DVSYNC_WORK_DIR: shared with Dask workers
    work_dir = base / f".dvsync-partitions-{uuid.uuid4().hex[:8]}"
    try:
        whole_raw, parts_raw, member_part = tasks.extract_central(
            inp.central, mapping, chunk_size, partition_members, dask_workers, str(work_dir)
        )
        whole, whole_q, whole_counts = tasks.validate_central(whole_raw, GLOBAL_TABLES)
        del whole_raw
        new, present = tasks.inventory_workbooks(str(inp.submissions), inp.results)
        # Batches of workbooks: parsed by a local process pool one after the other, or all at once on
        # the Dask workers when scaled out; each is stored as it arrives (the store has one writer).
        batches = _batches(new, dask_workers)
        if dask_workers:
            parsed = tasks.parse_workbooks.map(batches, workers=unmapped(1))
            loads = [tasks.load_batch(future.result(), inp.results) for future in parsed]
        else:
            loads = _parse_and_store(batches, inp.workers, inp.results)
        subs, subs_q, files = tasks.store_submissions(loads, inp.results, inp.period, present)

        # Member-level validation and rules per partition, then the rules that cross partitions once
        # over the whole tree.
        part_subs = split_submissions(subs, member_part, len(parts_raw))
        # SinhHoat and DanhGia rows now live in their partitions; the tree rules never read them.
        subs = replace(subs, activity=subs.activity.iloc[:0], screening=subs.screening.iloc[:0])
        n_parts = len(parts_raw)
        parts = _run_partitions(parts_raw, part_subs, ctx, concurrent=bool(dask_workers))
        del parts_raw, part_subs
        findings, part_q, part_counts = tasks.reconcile_tree(whole, quote(parts), subs, ctx)
        central_counts = {t: {**whole_counts, **part_counts}[t] for t in CENTRAL_TABLES}
        central_q = pd.concat([whole_q, part_q], ignore_index=True)
        del parts
        if committee:
            findings = tasks.scope_to_committee(findings, whole.organizations, committee)

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
        summary["partitions"] = n_parts
        tasks.publish(findings, quarantine, summary, whole.organizations, inp, committee)
        logger.info("Kết quả tại %s", inp.out)
        return summary
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # the partitions' files are this run's only


def _parse_and_store(batches: list[list], workers: int, results_url: str) -> list[dict]:
    """Parse batch k+1 in the worker processes while batch k is written to the store here: the
    store has one writer, the parsing uses every core, and memory holds two batches at most."""
    from connectors.workbooks import close_worker_pool, worker_pool

    batches = [b for b in batches if b]
    if not batches:
        return []
    if workers > 1:
        try:
            worker_pool(workers)  # forked now, from the flow's own thread, before any task thread
        except OSError as exc:  # no fork possible (memory, limits): parse here, slower but whole
            get_run_logger().warning("Không tạo được tiến trình phụ (%s): đọc bảng nộp tuần tự", exc)
            workers = 1
    try:
        loads = []
        # quote(): Prefect would otherwise walk every element of these big arguments looking for
        # upstream futures (seconds per night at a million members).
        pending = tasks.parse_workbooks.submit(quote(batches[0]), workers)
        for i in range(len(batches)):
            parsed = pending.result()
            if i + 1 < len(batches):
                pending = tasks.parse_workbooks.submit(quote(batches[i + 1]), workers)
            loads.append(tasks.load_batch(quote(parsed), results_url))
            del parsed
        return loads
    finally:
        close_worker_pool()


def _run_partitions(parts: list[dict], subs: list, ctx: RunContext, concurrent: bool) -> list[dict]:
    """Every partition through ``reconcile-partition``: all at once on a Dask cluster; one after
    the other on the local thread pool, so memory holds one partition's big tables at a time."""
    logger = get_run_logger()
    if concurrent:
        futures = tasks.reconcile_partition.map(range(len(parts)), parts, subs, unmapped(ctx))
        return [f.result() for f in futures]
    done = []
    for i in range(len(parts)):
        done.append(tasks.reconcile_partition(i, quote(parts[i]), quote(subs[i]), ctx))
        parts[i] = {}  # this partition's raw tables are no longer needed
        logger.info("Phần %d/%d xong", i + 1, len(parts))
    return done


def _batches(items: list, dask_workers: int, size: int = 2000) -> list[list]:
    """Split the new workbooks into batches of at most `size` (at least one per Dask worker)."""
    n = max(dask_workers, -(-len(items) // size), 1)
    return [items[i * len(items) // n : (i + 1) * len(items) // n] for i in range(n)]
