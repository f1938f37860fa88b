"""Committee workbooks: one per grassroots organisation and per upper committee (contract §3).

Layout of ``out_dir/committees/`` (stable names, so a secretary always opens the same path):

    committees/<org_code>/<org_code>.xlsx    the committee's workbook, rewritten only when its content changed
    committees/_ban-to-chuc/_ban-to-chuc.xlsx the board's list of findings no committee receives (below)
    committees/manifest.json                 content hash, row count and date of each published workbook

An organisation code is data, never a path: ``committee_workbook_path`` is the one function that
turns a code into a path; it accepts only codes of ``schemas.tree.safe_org_codes`` (validation
has already quarantined the others) and proves every path it returns lies inside ``out_dir``.

Findings that no committee receives are never dropped: those of an organisation that is not in
the tree (a cell missing from the organisations table, or quarantined: an unsafe code, a cycle,
an orphan) and those of an organisation detached from it (below a quarantined one, so that no
root sees them) are listed for the board (Ban Tổ chức) in ``committees/_ban-to-chuc/`` (a code
that no organisation can have: it fails the code pattern), and counted as ``unplaced``.

Each workbook holds only findings whose ``org_code`` lies in the committee's subtree; findings
with status ``resolved`` are counted on the summary sheet, not listed. The content hash leaves
out ``as_of`` (the "prepared on" date printed in the workbook is the day its content last changed),
so a steady night rewrites nothing.

Publication is two-phase: every changed workbook is written into a staging folder next to the
final ones; only when all are written are they moved into place with ``os.replace`` and the manifest
replaced. A run that fails while writing leaves every previous workbook and the manifest as they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.publish import _workbook
from connectors.publish._workbook import ROW_COLUMNS, WorkbookJob
from connectors.publish.files import atomic_write_bytes
from connectors.publish.labels import COLUMN_HEADERS, LIST_SHEET_NAMES, LIST_TITLES
from schemas.tree import ancestor_pairs as tree_pairs
from schemas.tree import detached, is_safe_org_code, safe_org_codes

__all__ = [
    "COLUMN_HEADERS",
    "LIST_SHEET_NAMES",
    "LIST_TITLES",
    "PUBLISHED_KINDS",
    "BOARD_CODE",
    "UnsafeCommitteePath",
    "ancestor_pairs",
    "committee_workbook_path",
    "write_committee_workbooks",
]

log = logging.getLogger("dvsync.publish")

PUBLISHED_KINDS = ["province", "upper", "grassroots_committee", "grassroots_cell"]
MANIFEST = "manifest.json"
# Bump when the layout changes: every workbook is then rewritten once (2: issue #18, Vietnamese
# values, subject headers, row heights and print setup; 3: issue #20, the answer columns).
FORMAT_VERSION = 3
# Below this many changed workbooks, worker start-up costs more than it saves.
MIN_PARALLEL_JOBS = 24
STAGING_PREFIX = ".staging-"


# The board's workbook of unplaced findings: a name no organisation code can have (it fails the
# code pattern), so it never collides with a committee's folder.
BOARD_CODE = "_ban-to-chuc"
BOARD_NAME = "Ban Tổ chức — phát hiện chưa xác định tổ chức"


class UnsafeCommitteePath(ValueError):
    """An organisation code that cannot be a folder name, or a path that would leave ``out_dir``."""


def committee_workbook_path(out_dir: Path, org_code: str, staging: Path | None = None) -> Path:
    """``out_dir/committees/<org_code>/<org_code>.xlsx`` (or ``staging/<org_code>.xlsx``): the
    one place a code becomes a path. The code must pass ``schemas.tree.safe_org_codes`` (or be
    ``BOARD_CODE``), and the resolved path must lie inside ``out_dir`` (a symlinked folder
    pointing elsewhere is refused too); otherwise ``UnsafeCommitteePath``."""
    if org_code != BOARD_CODE and not is_safe_org_code(org_code):
        raise UnsafeCommitteePath(f"mã tổ chức không dùng được làm tên thư mục: {org_code!r}")
    out_dir = Path(out_dir)
    path = (
        (staging / f"{org_code}.xlsx")
        if staging is not None
        else out_dir / "committees" / org_code / f"{org_code}.xlsx"
    )
    if not path.resolve().is_relative_to(out_dir.resolve()):
        raise UnsafeCommitteePath(f"đường dẫn sổ của tổ chức {org_code!r} nằm ngoài thư mục kết quả: {path}")
    return path


def _list_order() -> list[str]:
    from schemas.contract import LIST_CODES

    return list(LIST_CODES)


def _truthy(s: pd.Series) -> pd.Series:
    """``active`` as stored by any database: bool, 0/1, text; missing counts as active."""
    text = s.astype("string").str.strip().str.lower()
    return (~text.isin(["0", "false", "f", "no", "n", "không"])).fillna(True).astype(bool)


def ancestor_pairs(organizations: pd.DataFrame) -> pd.DataFrame:
    """Every (ancestor, org_code) pair of the tree, each organisation being its own ancestor
    (``schemas.tree``: vectorised, bounded; a cycle is walked round once, never followed)."""
    pairs = tree_pairs(organizations)
    return pd.DataFrame({"ancestor": pairs["ancestor_code"], "org_code": pairs["org_code"]})


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("format") != FORMAT_VERSION:
        return {}
    return data.get("committees", {})


def _clean_stale_staging(folder: Path, older_than_s: float = 3600) -> None:
    # Leftovers of a crashed run; young ones may belong to a run still going.
    now = time.time()
    for p in folder.glob(STAGING_PREFIX + "*"):
        try:
            if now - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string")


def _prepare(findings: pd.DataFrame) -> pd.DataFrame:
    df = findings.copy()
    for col in ROW_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    df = df[ROW_COLUMNS].copy()
    for col in ROW_COLUMNS:
        if col == "due_date" and pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d")
        df[col] = _text(df[col])
        df[col] = df[col].mask(df[col].str.strip() == "", pd.NA)
    df["status"] = df["status"].fillna("new")
    order = {c: i for i, c in enumerate(_list_order())}
    df["_list_rank"] = df["list_code"].map(order).fillna(len(order)).astype(int)
    return df


def write_committee_workbooks(
    findings: pd.DataFrame,
    organizations: pd.DataFrame,
    out_dir: Path,
    as_of: date,
    workers: int | None = None,
    *,
    writer: Callable[[list[WorkbookJob]], list[str]] | None = None,
    roots: Iterable[str] | None = None,
    quarantine: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Publish every committee's workbook under ``out_dir/committees``.

    Returns ``{"written", "unchanged", "total", "unplaced", "seconds", "files"}``: ``files``
    maps each committee code to its workbook path relative to ``out_dir``; ``unplaced`` counts
    findings that no root's committee receives (organisation not in ``organizations``, not under
    a published one, or detached below a quarantined one): they are listed for the board in
    ``committees/_ban-to-chuc/`` (``board``: its path). ``roots``: organisations that head the
    tree besides those without a parent (an audit publishes its committee's subtree).
    ``writer`` replaces the batch writer (tests inject failures with it; it runs in-process).
    ``quarantine`` (quarantine.csv's lines with a ``_cell`` column naming the cell whose workbook
    each line is about): every committee also gets the lines of its subtree's cells, on a sheet
    of their own (issue #15: warnings reach the committee).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    folder = out_dir / "committees"
    folder.mkdir(parents=True, exist_ok=True)
    _clean_stale_staging(folder)
    as_of_iso = pd.Timestamp(as_of).strftime("%Y-%m-%d")
    order = _list_order()

    orgs = organizations.copy()
    orgs["org_code"] = _text(orgs["org_code"])
    # Validation quarantines unsafe codes; should one get here, it is not published (its
    # findings join the board's unplaced ones): a code is data, never a path.
    unsafe = ~safe_org_codes(orgs["org_code"]).to_numpy()
    if unsafe.any():
        log.warning("%d organisation codes cannot name a folder; not published", int(unsafe.sum()))
        orgs = orgs[~unsafe]
    names = dict(zip(orgs["org_code"], _text(orgs["name"]).fillna(orgs["org_code"]), strict=True))
    df = _prepare(findings)
    is_open = df["status"] != "resolved"
    pairs = ancestor_pairs(orgs)
    publish = orgs[orgs["kind"].isin(PUBLISHED_KINDS)]
    pairs = pairs[pairs["ancestor"].isin(publish["org_code"])]

    # A row hash per finding, computed once; a committee's hash combines those of its rows.
    df["_hash"] = pd.util.hash_pandas_object(df[ROW_COLUMNS].fillna("\x00"), index=False).to_numpy()
    placed = df.merge(pairs, on="org_code", how="inner")
    # Never dropped: what no root's committee receives is listed for the board (BOARD_CODE).
    loose = detached(orgs, roots)
    # The board answers in a root committee's workbook (issue #20: it may accept an explanation).
    parent = (
        _text(orgs["parent_code"]) if "parent_code" in orgs.columns else pd.Series(pd.NA, index=orgs.index)
    )
    board_codes = {
        BOARD_CODE,
        *orgs.loc[(parent.isna() | ~parent.isin(orgs["org_code"])).to_numpy(), "org_code"],
    }
    lost = (
        ~df["org_code"].isin(pairs["org_code"]) | df["org_code"].isin(loose.index[loose.to_numpy()])
    ).fillna(True)
    unplaced = int(lost.sum())
    if unplaced:
        board = df[lost.to_numpy(dtype=bool)].assign(ancestor=BOARD_CODE)
        placed = pd.concat([placed, board.astype({"ancestor": "string"})], ignore_index=True)
    placed = placed.sort_values(
        ["ancestor", "_list_rank", "list_code", "org_code", "member_code", "field", "finding_id"],
        na_position="first",
        kind="mergesort",
    )
    open_rows = placed[placed["status"] != "resolved"]
    resolved = (
        placed[placed["status"] == "resolved"].groupby(["ancestor", "list_code"]).size()
        if (~is_open).any()
        else pd.Series(dtype=int)
    )
    sub_lines = _submission_lines(quarantine, pairs)
    has_findings = set(placed["ancestor"]) | set(sub_lines)
    active = _truthy(publish["active"]) if "active" in publish.columns else pd.Series(True, publish.index)
    committees = sorted(set(publish.loc[active.to_numpy(), "org_code"]) | has_findings)
    if BOARD_CODE not in committees and BOARD_CODE in _read_manifest(folder):
        committees.append(BOARD_CODE)  # nothing unplaced any more: the board's list is emptied

    # Rows are sorted by committee: each committee is one slice (no per-committee pandas work).
    anc = open_rows["ancestor"].to_numpy(dtype=object)
    starts = {code: i for i, code in reversed(list(enumerate(anc)))}
    ends = {code: i + 1 for i, code in enumerate(anc)}
    row_hash = open_rows["_hash"].to_numpy()
    values = [open_rows[c].to_numpy(dtype=object, na_value=None) for c in ROW_COLUMNS]
    org_col, committee_col = (
        values[ROW_COLUMNS.index("org_code")],
        values[ROW_COLUMNS.index("committee_code")],
    )
    resolved_by: dict[str, dict[str, int]] = {}
    for (code, list_code), n in resolved.items():
        resolved_by.setdefault(str(code), {})[str(list_code)] = int(n)

    # Organisation names are printed too: a renamed organisation rewrites the workbooks (rare).
    names_digest = hashlib.sha256(json.dumps(sorted(names.items()), ensure_ascii=False).encode()).hexdigest()
    manifest = _read_manifest(folder)
    new_manifest: dict[str, Any] = {}
    staging = folder / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    jobs: list[WorkbookJob] = []
    refused: list[str] = []
    for code in committees:
        lo, hi = starts.get(code, 0), ends.get(code, 0)
        res = resolved_by.get(code, {})
        h = hashlib.sha256()
        h.update(
            json.dumps([FORMAT_VERSION, code, names_digest, res, order], ensure_ascii=False).encode("utf-8")
        )
        h.update(row_hash[lo:hi].tobytes())
        lines = sub_lines.get(code, [])
        if lines:
            h.update(json.dumps(lines, ensure_ascii=False, default=str).encode("utf-8"))
        digest = h.hexdigest()
        try:
            final = committee_workbook_path(out_dir, code)
        except UnsafeCommitteePath as exc:  # e.g. its folder is a symlink leading out of out_dir
            log.warning("%s", exc)
            refused.append(code)
            continue
        rel = final.relative_to(out_dir).as_posix()
        prev = manifest.get(code)
        if prev and prev.get("hash") == digest and final.exists():
            new_manifest[code] = prev
            continue
        new_manifest[code] = {"hash": digest, "file": rel, "rows": hi - lo, "as_of": as_of_iso}
        sub_names = {c: names[c] for c in set(org_col[lo:hi]) | set(committee_col[lo:hi]) if c in names}
        rows = list(zip(*(v[lo:hi] for v in values), strict=True)) if hi > lo else []
        jobs.append(
            WorkbookJob(
                org_code=code,
                org_name=BOARD_NAME if code == BOARD_CODE else names.get(code, code),
                as_of=as_of_iso,
                path=str(committee_workbook_path(out_dir, code, staging)),
                rows=rows,
                resolved=res,
                names=sub_names,
                list_order=order,
                submission_lines=lines,
                board=code in board_codes,
            )
        )

    if jobs:
        staging.mkdir()
        try:
            _run_jobs(jobs, workers, writer)
            # Phase 2: everything is written; move into place (renames on one filesystem).
            for job in jobs:
                final = committee_workbook_path(out_dir, job["org_code"])
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(job["path"], final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if jobs or set(new_manifest) != set(manifest):
        atomic_write_bytes(
            folder / MANIFEST,
            json.dumps(
                {"format": FORMAT_VERSION, "committees": new_manifest},
                ensure_ascii=False,
                indent=1,
                sort_keys=True,
            ).encode("utf-8"),
        )
    seconds = round(time.perf_counter() - started, 3)
    result = {
        "written": len(jobs),
        "unchanged": len(committees) - len(jobs),
        "total": len(committees),
        "unplaced": unplaced,
        "seconds": seconds,
        "files": {c: new_manifest[c]["file"] for c in committees if c in new_manifest},
    }
    if BOARD_CODE in new_manifest:
        result["board"] = new_manifest[BOARD_CODE]["file"]
    if refused:
        result["refused"] = refused
        committees = [c for c in committees if c not in refused]
        result["total"] = len(committees)
        result["unchanged"] = len(committees) - len(jobs)
    log.info(
        "committee workbooks: %d written, %d unchanged, %d total in %.2f s",
        result["written"],
        result["unchanged"],
        result["total"],
        seconds,
    )
    return result


def _submission_lines(quarantine: pd.DataFrame | None, pairs: pd.DataFrame) -> dict[str, list[tuple]]:
    """Committee code -> the quarantine lines of the cells of its subtree (SUBMISSION_COLUMNS
    values, sorted), from the lines that name their cell (``_cell``)."""
    from connectors.publish._workbook import SUBMISSION_COLUMNS
    from connectors.publish.files import mask_id_runs

    if quarantine is None or "_cell" not in quarantine.columns or quarantine.empty:
        return {}
    q = quarantine[quarantine["_cell"].notna()].copy()
    if q.empty:
        return {}
    if "severity" not in q.columns:
        q["severity"] = "error"
    q["cell_code"] = q["_cell"].astype("string")
    q["_rown"] = pd.to_numeric(q["row"], errors="coerce") if "row" in q.columns else pd.NA
    for c in SUBMISSION_COLUMNS:
        q[c] = q[c].astype("string") if c != "row" else q[c].astype("Int64").astype("string")
    for c in ("source", "value", "message"):  # an ID typed anywhere is masked here too
        q[c] = mask_id_runs(q[c])
    m = q.merge(pairs, left_on="cell_code", right_on="org_code", how="inner", suffixes=("", "_p"))
    m = m.sort_values(
        ["ancestor", "cell_code", "source", "sheet", "_rown", "column"], kind="mergesort", na_position="first"
    )
    out: dict[str, list[tuple]] = {}
    values = [m[c].to_numpy(dtype=object, na_value=None) for c in SUBMISSION_COLUMNS]
    for anc, row in zip(m["ancestor"].to_numpy(dtype=object), zip(*values, strict=True), strict=True):
        out.setdefault(str(anc), []).append(tuple(row))
    return out


def _run_jobs(
    jobs: list[WorkbookJob], workers: int | None, writer: Callable[[list[WorkbookJob]], list[str]] | None
) -> None:
    if writer is not None:
        writer(jobs)
        return
    n = workers if workers is not None else min(4, os.cpu_count() or 1)
    if n <= 1 or len(jobs) < MIN_PARALLEL_JOBS:
        _workbook.write_batch(jobs)
        return
    # Batches of similar total size; biggest first so the province workbook does not finish last.
    jobs = sorted(jobs, key=lambda j: len(j["rows"]), reverse=True)
    n_batches = min(len(jobs), n * 8)
    batches: list[list[WorkbookJob]] = [[] for _ in range(n_batches)]
    for i, job in enumerate(jobs):
        batches[i % n_batches].append(job)
    # spawn, not fork: the caller may be a Prefect flow with threads running (fork would copy locks).
    # Spawned workers import the caller's __main__: a script must guard it with `if __name__ == ...`.
    try:
        with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
            for _ in pool.map(_workbook.write_batch, batches):
                pass
    except BrokenProcessPool:
        # A worker died (killed, out of memory): the staging folder may be half-written; rewrite
        # all of it in this process rather than fail the night.
        log.warning("workbook worker process died; writing %d workbooks in-process", len(jobs))
        _workbook.write_batch(jobs)
