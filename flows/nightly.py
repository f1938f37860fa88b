"""The nightly reconciliation: extract, validate, reconcile, publish.

`dvsync nightly` and the `nightly-reconciliation` deployment run this flow. Its sources come from
its parameters, else from the environment; with none configured it stops with a usage error
(exit 2): the bundled demo data is used only when asked (``demo=True``, `dvsync nightly --demo`).
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

from connectors.lock import acquire_run_lock, clean_dead_runs
from connectors.partitions import GLOBAL_TABLES, split_submissions
from flows import answers, console, tasks
from flows.inputs import resolve_inputs
from schemas.contract import CENTRAL_TABLES
from schemas.datasets import RunContext
from schemas.settings import DEFAULT_CHUNK_SIZE, DEFAULT_PARTITION_MEMBERS, Settings


def _run_name(kind: str) -> str:
    """Flow runs named by mode and date (``nightly-2026-11-26``, ``audit-24.001-2026-11-26``)."""
    from prefect.runtime import flow_run

    from flows.inputs import check_committee, parse_as_of, today

    params = flow_run.parameters or {}
    try:
        day = parse_as_of(params["as_of"]) if params.get("as_of") else today()
        committee = check_committee(params.get("committee")) if kind == "audit" else None
    except ValueError:
        return f"{kind}-invalid"
    middle = f"-{committee}" if committee else ""
    return f"{kind}{middle}-{day:%Y-%m-%d}"


@flow(
    name="nightly-reconciliation",
    log_prints=True,
    flow_run_name=lambda: _run_name("nightly"),
)
def nightly_reconciliation(
    central: str | None = None,
    submissions: str | None = None,
    out: str | None = None,
    as_of: str | None = None,
    period: str | None = None,
    results: str | None = None,
    mapping: str | None = None,
    demo: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    dask_workers: int = 0,
    partition_members: int = DEFAULT_PARTITION_MEMBERS,
    responses: str | None = None,
) -> dict:
    """Reconcile the central member database with the cells' submissions and publish the lists.

    Sources not given as parameters come from the worker's environment (``DVSYNC_CENTRAL_URL`` or
    the Secret block named by ``DVSYNC_CENTRAL_SECRET``, ``DVSYNC_SUBMISSIONS``, ``DVSYNC_OUT``,
    ``DVSYNC_RESULTS_URL``, ``DVSYNC_MAPPING``); ``demo`` runs on the bundled demo data.
    ``dask_workers`` > 0 splits the workbooks into batches, and the members into partitions, for
    that many task-runner workers. ``partition_members``: members per partition (about; a
    partition is a chunk of grassroots organisations, kept by province-level committee).
    Returns the run summary (also written to ``summary.json``).
    """
    return reconcile_and_publish(
        central,
        submissions,
        out,
        as_of,
        period,
        results,
        mapping,
        None,
        demo,
        chunk_size,
        dask_workers,
        partition_members,
        responses,
    )


def reconcile_and_publish(
    central: str | None,
    submissions: str | None,
    out: str | None,
    as_of: str | None,
    period: str | None,
    results: str | None,
    mapping: str | None,
    committee: str | None,
    demo: bool,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    dask_workers: int = 0,
    partition_members: int = DEFAULT_PARTITION_MEMBERS,
    responses: str | None = None,
) -> dict:
    """The body of both flows (the nightly; the audit of one committee's subtree, published under
    ``<out>/audits/<committee>/<as_of>/`` and never over the nightly's files)."""
    from connectors.publish.artifacts import install_log_masking
    from flows.logs import quiet_known_errors

    install_log_masking()  # before anything logs: personal IDs never reach the logs unmasked
    quiet_known_errors()  # a known fault is one line in the run's log, not a traceback
    logger = get_run_logger()
    tasks.STAGE_SECONDS.clear()
    started = time.perf_counter()
    inp = resolve_inputs(
        central,
        submissions,
        out,
        as_of,
        period,
        results,
        mapping,
        committee,
        demo,
        log=logger.info,
        responses=responses,
    )
    mode, committee = inp.mode, inp.committee
    mapping = str(inp.mapping) if inp.mapping else None
    ctx = RunContext(as_of=inp.as_of, period=inp.period, mode=mode)
    what = f"kiểm tra hồ sơ {committee}" if committee else "đối soát hằng đêm"
    month = f"{inp.period[5:7]}/{inp.period[:4]}"
    logger.info("%s ngày %s, kỳ báo cáo %s", what.capitalize(), inp.as_of.strftime("%d/%m/%Y"), month)

    # One snapshot read; the member tables go to their partitions as they are read (files under
    # the work folder when there is more than one partition: connectors.spill).
    base = Settings.from_env().work_dir or Path(
        inp.base_out or inp.out
    )  # DVSYNC_WORK_DIR: shared with Dask workers
    work_dir = base / f".dvsync-partitions-{uuid.uuid4().hex[:8]}"
    # One run at a time per results database, taken before anything is read: a second run waits
    # (DVSYNC_LOCK_WAIT), then exit 2; an unreachable results database is exit 3 (connectors.lock).
    run_lock = acquire_run_lock(inp.results, inp.as_of.strftime("%Y-%m-%d"), log_info=logger.info)
    try:
        clean_dead_runs([base, Path(inp.base_out or inp.out)])  # partition folders of killed runs
        # Tables with a change marker keep their snapshot between nights beside the outputs.
        state_dir = str(Path(inp.base_out or inp.out) / ".state" / "central")
        whole_raw, parts_raw, member_part = tasks.extract_central(
            inp.central, mapping, chunk_size, partition_members, dask_workers, str(work_dir), state_dir
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
        subs, subs_q, files = tasks.store_submissions(
            loads, inp.results, inp.period, present, str(Path(inp.base_out or inp.out) / ".state" / "store")
        )

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
            "run_id": run_lock.run_id,
            "as_of": inp.as_of.strftime("%Y-%m-%d"),
            "period": inp.period,
            "mode": mode,
            "committee": committee,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        # The committees' returned workbooks (issue #20), read before the night is recorded.
        answer_counts, answer_q = answers.read_responses(
            str(inp.responses) if inp.responses else None, inp.results, whole.organizations, run["as_of"]
        )
        findings = tasks.record_history(inp.results, run, findings)
        findings = answers.apply_answers(inp.results, run, findings)
        quarantine = pd.concat(
            [central_q, subs_q, *([answer_q] if answer_q is not None else [])], ignore_index=True
        )
        summary = tasks.build_summary(
            inp, run, central_counts, subs, subs_q, files, findings, quarantine, time.perf_counter() - started
        )
        summary["partitions"] = n_parts
        if answer_counts is not None:
            summary["responses"] = answer_counts
        tasks.publish(findings, quarantine, summary, whole.organizations, inp, committee)
        logger.info("Kết quả tại %s", inp.out)
        return {**summary, "out": str(inp.out)}  # the folder, for the caller (not in summary.json)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # the partitions' files are this run's only
        run_lock.release()


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
        total, done, started = sum(len(b) for b in batches), 0, time.perf_counter()
        for i in range(len(batches)):
            parsed = pending.result()
            if i + 1 < len(batches):
                pending = tasks.parse_workbooks.submit(quote(batches[i + 1]), workers)
            loads.append(tasks.load_batch(quote(parsed), results_url))
            del parsed
            done += len(batches[i])
            rate = done / max(time.perf_counter() - started, 1e-3)
            left = f", còn khoảng {console.seconds((total - done) / rate)}" if done < total else ""
            get_run_logger().info(
                "Đọc và lưu bảng nộp: %s/%s tệp (%s tệp/giây%s)",
                console.number(done),
                console.number(total),
                console.number(round(rate)),
                left,
            )
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
