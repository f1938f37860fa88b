"""Prefect tasks: thin wrappers that give each stage a name, retries, timing and progress.

The work itself lives in connectors/, schemas/ and rules/. Side-effecting tasks use
``cache_policy=NONE`` so that a rerun always runs them (stack-notes.md).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from connectors.lock import results_faults
from connectors.quarantine import file_faults, sheet_counts
from flows import console
from flows.console import STAGE_LABELS
from schemas.datasets import CentralData, RunContext, SubmissionData

STAGE_SECONDS: dict[str, float] = {}
CURRENT_STAGE: list[str] = []  # read by the benchmark's memory sampler


@contextmanager
def stage(name: str):
    from connectors.faults import fault_point

    logger = get_run_logger()
    logger.info("▶ %s", STAGE_LABELS.get(name, name))
    fault_point(name)  # the fault suite's kill -9 at this stage (DVSYNC_FAULT_AT; tests only)
    CURRENT_STAGE.append(name)
    start = time.perf_counter()
    try:
        yield
    finally:
        CURRENT_STAGE.pop()
    seconds = time.perf_counter() - start
    STAGE_SECONDS[name] = round(STAGE_SECONDS.get(name, 0) + seconds, 3)
    logger.info("✔ %s (%s)", STAGE_LABELS.get(name, name), console.seconds(seconds))


# No Prefect retries: read_central retries connection faults itself (DVSYNC_CENTRAL_RETRIES), so
# its message tells the true number of attempts; a second layer here multiplied them (12).
@task(
    name="extract-central",
    cache_policy=NONE,
    timeout_seconds=4 * 3600,
)
def extract_central(
    source: str,
    mapping: str | None,
    chunk_size: int,
    partition_members: int,
    min_partitions: int,
    work_dir: str,
    state_dir: str | None = None,
) -> tuple[dict[str, pd.DataFrame], list, pd.Series]:
    """One snapshot read of the central database, partitioned as it is read: (whole tables:
    organisations, members' cells, transfers; each partition's member tables, in memory or in
    files under ``work_dir``; the member -> partition map). ``state_dir``: where the tables with a
    change marker keep their snapshot between nights."""
    from connectors.central import read_central
    from connectors.spill import PartitionSpill

    spill = PartitionSpill(work_dir, partition_members, min_partitions)
    with stage("extract central"):
        whole = read_central(
            source,
            mapping=Path(mapping) if mapping else None,
            chunk_size=chunk_size,
            sink=spill,
            state=state_dir,
        )
    parts = spill.partitions()
    logger = get_run_logger()
    logger.info(
        "Đọc CSDL trung ương: %s",
        ", ".join(f"{console.number(len(df))} {console.TABLE_LABELS.get(t, t)}" for t, df in whole.items()),
    )
    sizes = ", ".join(console.number(_part_members(p)) for p in parts)
    logger.info("Chia %d phần theo đảng bộ trực thuộc (đảng viên: %s)", len(parts), sizes)
    return whole, parts, spill.member_part


def _part_members(part) -> int:
    return len(part["members"]) if isinstance(part, dict) else part.rows.get("members", 0)


@task(name="validate-central", cache_policy=NONE)
def validate_central(
    raw: dict[str, pd.DataFrame], tables: list[str] | None = None
) -> tuple[CentralData, pd.DataFrame, dict]:
    from schemas.central import validate_central as _validate

    with stage("validate central"):
        return _validate(raw, source="central", tables=tables)


@task(name="reconcile-partition", cache_policy=NONE)
def reconcile_partition(
    index: int, raw: dict[str, pd.DataFrame], submissions: SubmissionData, ctx: RunContext
) -> dict:
    """One partition: validate its member tables and run the member-level rules on them.

    Returns the partition's validated members (the tree-level rules need every member), its raw
    findings, quarantine and counts; its big tables (ratings, documents, ...) end here."""
    from connectors.partitions import MEMBER_TABLES
    from rules.reconcile import member_rules
    from schemas.central import validate_central as _validate

    if not isinstance(raw, dict):  # a spilled partition: its files, read where this task runs
        with stage("load partition"):
            raw = raw.load()
    with stage("validate central"):
        data, quarantine, counts = _validate(raw, source="central", tables=MEMBER_TABLES)
        del raw
        records = data.members.pop("_record").to_numpy() if "_record" in data.members else None
        for table in MEMBER_TABLES[1:]:
            setattr(data, table, getattr(data, table).drop(columns="_record", errors="ignore"))
    with stage("reconcile"):
        found = member_rules(data, submissions, ctx)
    n = sum(len(f) for f in found.values())
    get_run_logger().info(
        "Phần %d: %s đảng viên, %s phát hiện", index + 1, console.number(len(data.members)), console.number(n)
    )
    return {
        "members": data.members,
        "records": records,
        "findings": list(found.values()),
        "quarantine": quarantine,
        "counts": counts,
    }


@task(name="reconcile-tree", cache_policy=NONE)
def reconcile_tree(
    whole: CentralData, parts: list[dict], submissions: SubmissionData, ctx: RunContext
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The rules that cross partitions (transfers, rosters, duplicates, admission) over every
    member, then every partition's findings finalized together: (findings, quarantine, counts)."""
    from dataclasses import replace

    from rules.reconcile import finalize_findings, tree_rules

    with stage("reconcile"):
        # Each partition's members are taken out of its result (memory holds them once).
        kept = [p for p in parts if len(p["members"])]
        members = [p.pop("members") for p in kept]
        if members:
            # Back in export order: the rules then see exactly what one partition would give them.
            order = np.argsort(np.concatenate([p["records"] for p in kept]), kind="stable")
            merged = pd.concat(members, ignore_index=True)
            del members
            whole = replace(whole, members=merged.take(order).reset_index(drop=True))
            del merged
        found = tree_rules(whole, submissions, ctx)
        local = [f for p in parts for f in p["findings"]]
        findings = finalize_findings([*local, *found.values()], whole.organizations, ctx)
    quarantine = pd.concat(
        [p["quarantine"] for p in parts if len(p["quarantine"])] or [parts[0]["quarantine"]]
    )
    from schemas.central import members_outside_tree

    outside = members_outside_tree(whole.members, whole.organizations)  # cells missing from the tree
    if len(outside):
        quarantine = pd.concat([quarantine, outside])
    counts: dict[str, dict] = {}
    for p in parts:
        for table, c in p["counts"].items():
            counts[table] = _add_counts(counts.get(table), c)
    get_run_logger().info(
        "Phát hiện %s trường hợp trong %d danh sách",
        console.number(len(findings)),
        findings["list_code"].nunique(),
    )
    return findings, quarantine.reset_index(drop=True), counts


def _add_counts(a: dict | None, b: dict) -> dict:
    """Counts of one table summed over partitions (read / accepted / quarantined, per-rule counts)."""
    if a is None:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in b.items()}
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict):
            merged = dict(a.get(k, {}))
            for rule, n in v.items():
                merged[rule] = merged.get(rule, 0) + n
            out[k] = dict(sorted(merged.items()))
        else:
            out[k] = a.get(k, 0) + v
    return out


@task(name="inventory-workbooks", cache_policy=NONE)
def inventory_workbooks(folder: str, results_url: str) -> tuple[list[tuple[str, str]], set[str]]:
    """The workbooks of the folder not yet in the sync store (by checksum): [(path, name)], and the
    checksums of every file in the folder (a rejected file that was removed is no longer reported).

    Every entry of the folder that is not read (hidden, Excel lock file, a link leading out of
    the folder, not a regular file) is stored as a rejected "file" keyed ``skipped:<hash>`` and
    counted as present, so it gets its line every night while it stays there."""
    from connectors.store import ResultsStore
    from connectors.workbooks import _checksum, identical_copies, list_submissions, skipped_results

    store = ResultsStore(results_url)
    with results_faults(results_url):  # unwritable or unreachable: exit 3, one line
        store.migrate()
        known = store.known_checksums()
    root = Path(folder)
    with stage("read workbooks"):
        listed, skipped = list_submissions(root)
        files = [p for p, _ in listed]
        sums = {p: _checksum(p) for p in files}
        copies = identical_copies(listed, sums)  # the same bytes twice: read once, the copy named
        skipped += copies
        once = {e["file"] for e in copies}
        new = [(str(p), src) for p, src in listed if sums[p] not in known and src not in once]
        marks = skipped_results(skipped)
        if marks:
            with results_faults(results_url):
                store.load_workbooks(marks)
    logger = get_run_logger()
    for entry in skipped:
        logger.warning("%s", entry["message"])
    logger.info(
        "Bảng nộp: %s tệp, %s tệp mới cần đọc, %s mục bỏ qua",
        *(console.number(len(x)) for x in (files, new, skipped)),
    )
    return new, set(sums.values()) | {r.meta["checksum"] for r in marks}


# No timeout: the task runs in a worker thread (the next batch parses while one is stored), where
# Prefect could not interrupt it anyway; a broken worker process ends the pool, not the run.
@task(name="parse-workbooks", cache_policy=NONE)
def parse_workbooks(files: list[tuple[str, str]], workers: int) -> list:
    """Read and validate one batch of workbooks (in `workers` processes); file faults become results."""
    from connectors.workbooks import _parse_all

    if not files:
        return []
    with stage("read workbooks"):
        # Chunks stay whole (no frame per workbook and sheet): load-batch stores them as they are.
        # isolate: every file in a worker process with a memory and time limit (a crash costs one file).
        return _parse_all(
            [Path(p) for p, _ in files], [name for _, name in files], workers, whole_chunks=True, isolate=True
        )


@task(name="load-batch", cache_policy=NONE, retries=2, retry_delay_seconds=5)
def load_batch(results: list, results_url: str) -> dict:
    """Store one parsed batch in the sync store at once, so memory holds one batch, not the month."""
    from connectors.store import ResultsStore

    logger = get_run_logger()
    for r in results:
        if r.error:
            logger.warning("%s", r.error)
    with stage("store submissions"), results_faults(results_url):
        counts = ResultsStore(results_url).load_workbooks(results)
    counts["files_new"] = sum(not r.error for r in results)
    counts["files_rejected"] = sum(bool(r.error) for r in results)
    return counts


@task(name="store-submissions", cache_policy=NONE, retries=2, retry_delay_seconds=5)
def store_submissions(
    loads: list[dict], results_url: str, period: str, present: set[str], cache_dir: str | None = None
) -> tuple[SubmissionData, pd.DataFrame, dict]:
    """The period's submissions and quarantine from the sync store (every batch is loaded).
    ``cache_dir``: where the store's read-back of the year is kept between nights."""
    from connectors.store import ResultsStore

    store = ResultsStore(results_url)
    with stage("store submissions"), results_faults(results_url):
        subs = store.submissions(period, cache_dir=cache_dir)
        books = store.workbooks()
        books = (
            books[(books["status"] != "rejected") | books["checksum"].isin(present)] if len(books) else books
        )
        quarantine = pd.concat(
            [file_faults(books, period, present), store.quarantine(period, checksums=present)],
            ignore_index=True,
        )
    loaded = {
        k: sum(c.get(k, 0) for c in loads)
        for k in ("loaded", "superseded", "skipped", "rejected", "rows", "quarantined")
    }
    new = sum(c["files_new"] for c in loads)
    rejected = sum(c["files_rejected"] for c in loads)
    get_run_logger().info(
        "Kho bảng nộp: %s tệp mới lưu, %s thay thế bản cũ, %s bị từ chối; %s dòng, %s dòng cách ly",
        *(console.number(loaded[k]) for k in ("loaded", "superseded", "rejected", "rows", "quarantined")),
    )
    skipped = sum(c.startswith("skipped:") for c in present)
    report = {
        "files_new": new,
        "files_unchanged": len(present) - skipped - new - rejected,
        "files_rejected": rejected,
        "files_skipped": skipped,
        "store": loaded,
        "rows": sheet_counts(books, period),
    }
    return subs, quarantine, report


@task(name="record-history", cache_policy=NONE)
def record_history(results_url: str, run: dict, findings: pd.DataFrame) -> pd.DataFrame:
    """The run's history in one transaction (recorded whole or not at all); a results database
    that cannot be reached or written is retried (DVSYNC_RESULTS_RETRIES), then exit 3."""
    from connectors.lock import with_retries
    from connectors.store import ResultsStore
    from schemas.secrets import redact as redact_url

    with stage("record history"):
        # findings.csv also lists what was resolved today (status "resolved"), as the contract says.
        store = ResultsStore(results_url)
        try:
            return with_retries(
                lambda: store.record_run(run, findings, include_resolved=True), redact_url(results_url)
            )
        finally:
            store.dispose()


@task(name="scope-to-committee", cache_policy=NONE)
def scope_to_committee(findings: pd.DataFrame, organizations: pd.DataFrame, committee: str) -> pd.DataFrame:
    """Keep only findings of the committee's subtree: a committee receives only its own members."""
    from connectors.publish.summary import scope_to_committee as scope

    return scope(findings, organizations, committee)


@task(name="build-summary", cache_policy=NONE)
def build_summary(
    inp,
    run: dict,
    central_counts: dict,
    subs: SubmissionData,
    subs_q: pd.DataFrame,
    files: dict,
    findings: pd.DataFrame,
    quarantine: pd.DataFrame,
    seconds: float,
) -> dict:
    from connectors.publish.summary import build_summary as build

    return build(
        inp,
        run,
        central_counts,
        subs,
        files,
        findings,
        quarantine,
        {**STAGE_SECONDS, "total": round(seconds, 3)},
    )


@task(name="publish", cache_policy=NONE)
def publish(
    findings: pd.DataFrame,
    quarantine: pd.DataFrame,
    summary: dict,
    organizations: pd.DataFrame,
    inp,
    committee: str | None,
) -> None:
    """Write the lists: findings.csv, quarantine.csv, committee workbooks, board report, summary.json,
    and the run's Prefect artifacts (counts only, personal data masked).

    The whole set is written aside and made current in one step (connectors.publish.release): a
    kill or a full disk leaves the previous set or this one. A night older than the published set
    is published beside it (``older/<as_of>``). A disk or permission fault is OutputError (exit 3)."""
    from connectors.faults import fault_point
    from connectors.lock import with_retries
    from connectors.publish.artifacts import publish_artifacts
    from connectors.publish.files import write_findings_csv, write_quarantine_csv, write_summary_json
    from connectors.publish.release import Release
    from connectors.store import ResultsStore
    from schemas.errors import DvsyncError, OutputError
    from schemas.secrets import redact as redact_url

    out = Path(inp.out)
    scope = f"{summary['mode']}:{committee}" if committee else summary["mode"]
    release = Release(out, summary["run_id"], summary["as_of"])
    committed = False
    try:
        with stage("publish"):
            folder = release.begin()
            write_findings_csv(findings, folder / "findings.csv")
            fault_point("publish:findings.csv")
            write_quarantine_csv(quarantine, folder / "quarantine.csv")
            orgs = organizations
            if committee:
                from schemas.tree import subtree

                orgs = organizations[organizations["org_code"].isin(subtree(organizations, committee))]
            store = ResultsStore(inp.results)
            try:
                trend = with_retries(lambda: store.trend(scope), redact_url(inp.results))
            finally:
                store.dispose()
            trend = trend.rename(columns={"findings": "count"})
            written, report = _write_lists(
                folder, findings, quarantine, orgs, inp, inp.as_of.date(), committee, trend
            )
            summary["committee_workbooks"] = {k: v for k, v in written.items() if k != "files"}
            summary["board_report"] = str(report.relative_to(folder))
        # After the stage, so that summary.json has the publication's own duration too.
        summary["durations_seconds"].update(STAGE_SECONDS)
        write_summary_json(summary, folder / "summary.json")
        fault_point("publish:written")
        made_current = release.commit()
        committed = True
        fault_point("publish:switched")
        if not made_current:  # an older night: the later set gets the statuses of a date-order run
            _refresh_published(out, inp, scope, orgs, committee, summary["run_id"])
    except DvsyncError:
        if not committed:
            release.abort()
        raise
    except Exception as exc:
        if not committed:
            release.abort()
        if _is_output_fault(exc):
            raise OutputError(
                f"không ghi được kết quả vào {out}: {_reason(exc)}; bộ kết quả đã công bố trước đó "
                "vẫn nguyên vẹn"
            ) from None
        raise
    logger = get_run_logger()
    if made_current:
        base = out.absolute()
    else:
        base = (out / "older" / summary["as_of"]).absolute()
        logger.warning(
            "Ngày %s cũ hơn bộ kết quả đang công bố (ngày %s): lịch sử đã ghi, kết quả đặt riêng tại %s",
            summary["as_of"],
            release.current_as_of(),
            base,
        )
    summary["published"] = str(base)
    with stage("publish artifacts"):
        links = {
            "findings.csv": str(base / "findings.csv"),
            "board report": str(base / "reports" / report.name),
            "summary.json": str(base / "summary.json"),
        }
        # An audit keeps its own artifact keys: the nightly's history of artifacts stays the nightly's.
        prefix = f"dvsync-audit-{committee}" if committee else "dvsync"
        publish_artifacts(findings, summary, links, runs=trend, key_prefix=prefix)
    summary["durations_seconds"].update(STAGE_SECONDS)  # the flow's return value has them all


def _write_lists(
    folder: Path,
    findings: pd.DataFrame,
    quarantine: pd.DataFrame,
    orgs: pd.DataFrame,
    inp,
    as_of,
    committee: str | None,
    trend: pd.DataFrame,
) -> tuple[dict, Path]:
    """The committee workbooks and the board report of one set: (workbooks written, report)."""
    from connectors.publish.report import write_board_report
    from connectors.publish.xlsx import write_committee_workbooks

    written = write_committee_workbooks(
        findings[findings["status"] != "accepted"],  # accepted explanations leave the lists (#20)
        orgs,
        folder,
        as_of,
        workers=inp.workers,
        roots=[committee] if committee else None,  # an audit's subtree is headed by its committee
        quarantine=quarantine,  # each committee sees its cells' workbook faults (#15)
    )
    report = folder / "reports" / f"bao-cao-{pd.Timestamp(as_of):%Y-%m-%d}.html"
    write_board_report(findings, trend, orgs, report, as_of)
    return written, report


def _refresh_published(
    out: Path, inp, scope: str, orgs: pd.DataFrame, committee: str | None, run_id: str
) -> None:
    """Republish the current (later) set with the statuses the history now gives it.

    After an older night was recorded under it, the later night's statuses are those of a run in
    date order (ResultsStore._rechain); its published findings.csv, committee workbooks, report
    and summary follow, as a new set made current in one step (quarantine.csv carried as is)."""
    import json
    import uuid

    from connectors.lock import with_retries
    from connectors.publish.files import _csv_bytes, atomic_write_bytes, write_summary_json
    from connectors.publish.release import Release, link_or_copy
    from connectors.store import ResultsStore
    from schemas.contract import FINDING_COLUMNS
    from schemas.secrets import redact as redact_url

    current = Release(out, run_id, "").current()
    if current is None:
        return
    summary = json.loads((current / "summary.json").read_text(encoding="utf-8"))
    night = summary.get("as_of")
    store = ResultsStore(inp.results)
    try:
        fresh = with_retries(lambda: store.night_findings(scope, night), redact_url(inp.results))
        trend = (
            with_retries(lambda: store.trend(scope), redact_url(inp.results)) if fresh is not None else None
        )
    finally:
        store.dispose()
    if fresh is None:
        return
    # The current lists, their new/open statuses and the night's resolved rows from the history
    # (answers and the columns the history does not keep stay as published).
    old = pd.read_csv(current / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    seen = fresh[fresh["status"] != "resolved"].set_index("finding_id")
    keep = old[old["status"] != "resolved"].copy()
    mask = keep["status"].isin(["new", "open"]) & keep["finding_id"].isin(seen.index)
    for col in ("status", "first_seen"):
        keep.loc[mask, col] = keep.loc[mask, "finding_id"].map(seen[col]).astype(str)
    gone = fresh[fresh["status"] == "resolved"].reindex(columns=old.columns).fillna("").astype(str)
    findings = pd.concat([keep, gone], ignore_index=True)
    findings = findings.astype("string").mask(findings == "")  # empty cells as the flow has them: NA
    data = _csv_bytes(
        findings, FINDING_COLUMNS, ["list_code", "org_code", "member_code", "field", "finding_id"]
    )
    if data == (current / "findings.csv").read_bytes():
        return
    quarantine = pd.read_csv(
        current / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    release = Release(out, f"{run_id}-{uuid.uuid4().hex[:6]}", night)
    try:
        folder = release.begin()
        atomic_write_bytes(folder / "findings.csv", data)
        link_or_copy(current / "quarantine.csv", folder / "quarantine.csv")
        day = pd.Timestamp(night).date()
        trend = trend.rename(columns={"findings": "count"})
        written, _ = _write_lists(folder, findings, quarantine, orgs, inp, day, committee, trend)
        by_status = findings["status"].value_counts().sort_index()
        summary["findings_by_status"] = {str(k): int(v) for k, v in by_status.items()}
        summary["committee_workbooks"] = {k: v for k, v in written.items() if k != "files"}
        summary["statuses_refreshed_by"] = run_id
        write_summary_json(summary, folder / "summary.json")
        release.commit()
    except BaseException:
        release.abort()
        raise
    get_run_logger().info("Bộ kết quả ngày %s: trạng thái cập nhật theo lịch sử đã ghi đủ các ngày", night)


def _is_output_fault(exc: BaseException) -> bool:
    """A full disk, a read-only or forbidden folder, also when a writer library wrapped it."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError):
            return True
        if type(exc).__name__ in ("FileCreateError",):  # xlsxwriter's wrapper of an OSError
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _reason(exc: BaseException) -> str:
    while exc is not None and not isinstance(exc, OSError):
        exc = exc.__cause__ or exc.__context__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split())[:200]
