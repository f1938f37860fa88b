"""The life of a finding across nights: new, open, resolved, and back again (issue #17).

Pure functions: the scope's history as the store read it and tonight's findings in, tonight's
statuses, events and the rows of the ``findings`` table to write out; no I/O (the store,
``connectors/store/history.py``, reads, calls these, and saves what they return). Dates are ISO
text (``YYYY-MM-DD``), as ``rules.findings.finalize`` makes them; every stored column is text.

Statuses depend only on the scope's previous night (the latest earlier ``as_of``):

- seen tonight, open at the previous night -> ``open`` (``first_seen`` kept);
- seen tonight, not open at the previous night (never seen, or resolved since) -> ``new``,
  ``first_seen`` = tonight: a problem that comes back is a new case (its earlier episode stays in
  the events);
- open at the previous night, not seen tonight -> ``resolved`` (``resolved_on`` = tonight,
  ``last_seen`` = the previous night).

The committees' answers (``explained``, ``accepted``, ``facts_changed``) are laid over these
statuses afterwards by ``rules.answers``; they are not part of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.contract import FINDING_COLUMNS, Status

OPEN = (Status.NEW.value, Status.OPEN.value)
STATUSES = (*OPEN, Status.RESOLVED.value)
EVENT_COLUMNS = ["finding_id", "status", "first_seen"]
# The findings table (current state): the columns of the night that last saw a finding, and its state.
ROW_COLUMNS = ["scope", *FINDING_COLUMNS, "ref", "last_seen", "resolved_on", "last_run_id"]
DATE_COLUMNS = ("as_of", "due_date", "first_seen", "last_seen", "resolved_on")


@dataclass(frozen=True)
class History:
    """What the store read of a scope's history before recording a night.

    Frames are text, dates ISO. ``stored`` needs the rows of the findings seen tonight, of those
    open at the previous night and of ``attempt`` (only when ``latest``; else those open at the
    previous night, for ``include_resolved``); ``earlier`` the events of ``attempt`` before
    tonight (only when ``latest``)."""

    previous_as_of: str | None  # the scope's previous night (latest earlier as_of), None on the first
    previous: pd.DataFrame  # that night's events: EVENT_COLUMNS
    latest: bool  # no later night is recorded: tonight's state is the current one
    stored: pd.DataFrame  # findings table rows (ROW_COLUMNS)
    attempt: list[str]  # findings an earlier attempt of tonight recorded (its events are replaced)
    earlier: pd.DataFrame  # as_of, finding_id, status, first_seen, run_id


@dataclass(frozen=True)
class Night:
    """What recording a night decides."""

    findings: pd.DataFrame  # tonight's with status and first_seen (then the resolved ones, if asked)
    events: pd.DataFrame  # EVENT_COLUMNS: the findings seen (in their order), then those resolved
    counts: dict[str, Any]  # n_findings, n_new, n_open, n_resolved; counts {list_code: findings}
    write: pd.DataFrame  # findings table rows to (re)write (ROW_COLUMNS); none unless latest
    delete: list[str]  # findings table rows to delete


@dataclass(frozen=True)
class Rechained:
    """A later night's events recomputed from the night before it."""

    events: pd.DataFrame  # EVENT_COLUMNS, as a run in date order gives them
    changed: bool  # differ from the stored events (rewrite them and the night's counts)
    touched: list[str]  # findings whose events changed
    counts: dict[str, int]  # n_new, n_open, n_resolved


def finding_ids(findings: pd.DataFrame) -> pd.Series:
    """Tonight's finding ids; unique and non-empty, or ValueError (nothing is recorded)."""
    ids = findings["finding_id"].astype("string")
    if ids.isna().any() or ids.duplicated().any():
        raise ValueError("findings need unique, non-empty finding_id")
    return ids


def night(previous: pd.DataFrame, seen: pd.Series, as_of: str) -> pd.DataFrame:
    """Tonight's events from the previous night's: each finding seen ``new`` or ``open`` (in the
    order of ``seen``), then each finding open at the previous night and not seen, ``resolved``
    (by id). ``first_seen``: kept while open, tonight for a new case."""
    was_open = previous[_isin(previous["status"], OPEN)]
    ids = _objects(seen)
    at = _index(was_open["finding_id"]).get_indexer(ids)
    is_open = at >= 0
    first = np.full(len(ids), as_of, dtype=object)
    first[is_open] = _objects(was_open["first_seen"])[at[is_open]]
    seen_events = pd.DataFrame(
        {
            "finding_id": pd.Series(ids, dtype="string"),
            "status": pd.Series(np.where(is_open, Status.OPEN.value, Status.NEW.value), dtype="string"),
            "first_seen": pd.Series(first, dtype="string"),
        }
    )
    gone = was_open[~_isin(was_open["finding_id"], ids)].sort_values("finding_id")
    resolved = pd.DataFrame(
        {
            "finding_id": gone["finding_id"].astype("string"),
            "status": pd.Series(Status.RESOLVED.value, index=gone.index, dtype="string"),
            "first_seen": gone["first_seen"].astype("string"),
        }
    )
    return pd.concat([seen_events, resolved], ignore_index=True) if len(resolved) else seen_events


def decide(
    history: History,
    findings: pd.DataFrame,
    as_of: str,
    *,
    scope: str,
    run_id: str,
    include_resolved: bool = False,
) -> Night:
    """Record night ``as_of`` of ``scope``: statuses, events, counts and the findings table rows.

    The findings table is brought in line only when the night is the latest (an older night is
    re-chained by the store, then :func:`rebuild`). Rows that would not change are not written,
    so a rerun of the same inputs writes nothing."""
    ids = finding_ids(findings)
    events = night(history.previous, ids, as_of)
    n = len(ids)
    cur = findings.copy()
    cur["status"] = events["status"].iloc[:n].array
    cur["first_seen"] = events["first_seen"].iloc[:n].array
    resolved = events.iloc[n:]
    status = cur["status"]
    per_list = cur["list_code"].value_counts().sort_index() if len(cur) else pd.Series(dtype="int64")
    counts = {
        "n_findings": len(cur),
        "n_new": int((status == Status.NEW).sum()),
        "n_open": int((status == Status.OPEN).sum()),
        "n_resolved": len(resolved),
        "counts": {str(k): int(v) for k, v in per_list.items()},
    }
    stored = history.stored
    write, delete = _empty_rows(), []
    if history.latest:
        seen_rows = normalized(cur, scope=scope).assign(
            last_seen=as_of, resolved_on=pd.NA, last_run_id=run_id
        )
        seen_rows = seen_rows.astype({c: "string" for c in ("last_seen", "resolved_on", "last_run_id")})
        compared = [c for c in seen_rows.columns if c != "last_run_id"]
        seen_rows = seen_rows[_changed(seen_rows, stored, compared)]
        # Resolved: the stored row (columns of the night that last saw it) with its new state.
        gone = _rows_of(stored, resolved["finding_id"])
        gone = gone.assign(status=Status.RESOLVED.value, resolved_on=as_of, last_seen=history.previous_as_of)
        gone = gone.astype({c: "string" for c in ("status", "resolved_on", "last_seen")})
        gone = gone[_changed(gone, stored, [c for c in ROW_COLUMNS if c != "last_run_id"])]
        gone = gone.assign(last_run_id=run_id).astype({"last_run_id": "string"})
        # Seen by an earlier attempt of tonight but not by this one: back to the state before.
        back = set(history.attempt) - set(_objects(ids)) - set(_objects(resolved["finding_id"]))
        reverted, delete = rebuild(findings, stored, history.earlier, sorted(back), scope=scope, as_of=as_of)
        write = pd.concat(
            [f.reindex(columns=ROW_COLUMNS) for f in (seen_rows, gone, reverted) if len(f)] or [write],
            ignore_index=True,
        )
    if include_resolved and len(resolved):
        cur = pd.concat([cur, _resolved_findings(stored, resolved["finding_id"], as_of, cur.columns)])
        cur = cur.reset_index(drop=True)
    return Night(findings=cur, events=events, counts=counts, write=write, delete=delete)


def rechain_night(previous: pd.DataFrame, stored: pd.DataFrame, as_of: str) -> Rechained:
    """Night ``as_of`` (later than one just recorded) as a run in date order leaves it: its
    findings seen are kept, their statuses recomputed from ``previous`` (the events of the night
    before it, as now recorded); ``stored``: its events as stored."""
    seen = stored.loc[stored["status"] != Status.RESOLVED, "finding_id"].astype("string").sort_values()
    events = night(previous, seen, as_of)
    both = events.merge(stored[EVENT_COLUMNS].astype("string"), how="outer", indicator=True)
    differ = both["_merge"] != "both"
    return Rechained(
        events=events,
        changed=bool(differ.any()),
        touched=sorted(set(both.loc[differ, "finding_id"].tolist())),
        counts={f"n_{k}": int((events["status"] == k).sum()) for k in STATUSES},
    )


def rebuild(
    findings: pd.DataFrame,
    stored: pd.DataFrame,
    events: pd.DataFrame,
    ids: list[str],
    *,
    scope: str,
    as_of: str,
) -> tuple[pd.DataFrame, list[str]]:
    """The findings table rows of ``ids`` from their events (as_of, finding_id, status,
    first_seen, run_id): the columns of the night that last saw each finding (``findings`` of
    night ``as_of``, else the stored row), the state of its latest event. Returns the rows that
    change and the ids to delete (stored, but no event left)."""
    ids = _objects(ids)
    ev = events[_isin(events["finding_id"], ids)].sort_values(["finding_id", "as_of"], kind="stable")
    last = ev.groupby("finding_id", sort=False).tail(1).set_index("finding_id")
    seen_on = ev[ev["status"] != Status.RESOLVED].groupby("finding_id")["as_of"].max()
    has_events = _isin(ids, last.index)
    delete = ids[~has_events & _isin(ids, stored["finding_id"])].tolist()
    kept = ids[has_events]
    state = pd.DataFrame(
        {
            "status": last["status"].reindex(kept),
            "first_seen": last["first_seen"].reindex(kept),
            "last_seen": seen_on.reindex(kept),
            "resolved_on": last["as_of"].reindex(kept).where(last["status"].reindex(kept) == Status.RESOLVED),
            "last_run_id": last["run_id"].reindex(kept),
        },
        index=pd.Index(kept, name="finding_id", dtype="object"),
    ).astype("string")
    tonight = (state["last_seen"] == as_of).fillna(False).to_numpy(dtype=bool)
    # Seen tonight: tonight's columns (those it has), the night's as_of.
    mine = normalized(findings[_isin(findings["finding_id"], state.index[tonight])], scope=scope)
    mine = mine.assign(**_state_of(state, mine["finding_id"]), as_of=as_of).astype({"as_of": "string"})
    mine = mine[_changed(mine, stored, list(mine.columns))]
    # Last seen before: the stored row (a finding never stored has nothing to rebuild from).
    theirs = _rows_of(stored, state.index[~tonight])
    theirs = theirs.assign(**_state_of(state, theirs["finding_id"]))
    theirs = theirs[_changed(theirs, stored, ROW_COLUMNS)]
    parts = [f.reindex(columns=ROW_COLUMNS) for f in (mine, theirs) if len(f)]
    return (pd.concat(parts, ignore_index=True) if parts else _empty_rows()), delete


def normalized(frame: pd.DataFrame, scope: str | None = None) -> pd.DataFrame:
    """The findings table's columns of ``frame`` as stored and compared: text, dates ISO
    (a date that does not parse raises: nothing is stored half-right)."""
    out = {}
    if scope is not None:
        out["scope"] = pd.Series(scope, index=frame.index, dtype="string")
    for c in ROW_COLUMNS:
        if c not in frame.columns or c in out:
            continue
        s = frame[c]
        if c in DATE_COLUMNS:
            if not pd.api.types.is_datetime64_any_dtype(s.dtype):
                s = pd.to_datetime(s.astype("object"), format="mixed")
            s = s.dt.strftime("%Y-%m-%d")
        out[c] = s.astype("string")
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def _objects(values: Any) -> np.ndarray:
    """Values as a numpy array of Python objects (missing = None): hash lookups and set
    operations on them run in C, where pyarrow-backed strings are walked one by one in Python."""
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=object, na_value=None)
    return np.asarray(list(values) if isinstance(values, set | frozenset) else values, dtype=object)


def _index(values: Any) -> pd.Index:
    """An Index of Python objects (pandas would infer the pyarrow-backed ``str`` dtype)."""
    return pd.Index(_objects(values), dtype=object)


def _isin(values: Any, among: Any) -> np.ndarray:
    """``values.isin(among)`` as a boolean array, by hash table."""
    return _index(values).isin(_objects(among))


def _state_of(state: pd.DataFrame, ids: pd.Series) -> dict[str, Any]:
    """The columns of ``state`` for ``ids``, as arrays (assigned by position)."""
    at = _index(state.index).get_indexer(_objects(ids))
    return {c: state[c].array.take(at) for c in state.columns}


def _rows_of(stored: pd.DataFrame, ids: Any) -> pd.DataFrame:
    """The stored rows of ``ids``, in the order of ``ids`` (those stored)."""
    at = _index(stored["finding_id"]).get_indexer(_objects(ids))
    return stored.iloc[at[at >= 0]].reset_index(drop=True)


def _changed(rows: pd.DataFrame, stored: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Which ``rows`` are not stored, or differ from the stored row in any of ``columns``
    (missing equals missing)."""
    at = _index(stored["finding_id"]).get_indexer(_objects(rows["finding_id"]))
    out = at < 0
    for c in columns:
        if c == "finding_id":
            continue
        a = _objects(rows[c])
        b = np.full(len(rows), None, dtype=object)
        if c in stored.columns:
            b[~out] = _objects(stored[c])[at[~out]]
        out |= a != b  # element-wise on objects: None == None, str == str
    return out


def _resolved_findings(stored: pd.DataFrame, ids: pd.Series, as_of: str, columns: pd.Index) -> pd.DataFrame:
    """The findings.csv rows of the findings resolved tonight: their last known columns, status
    ``resolved``, tonight's ``as_of``; same columns and dtypes as tonight's."""
    cols = [c for c in columns if c in ROW_COLUMNS]
    df = _rows_of(stored, ids)[cols].copy()
    df["status"] = Status.RESOLVED.value
    df["as_of"] = as_of
    df = df.sort_values(
        ["list_code", "org_code", "member_code", "field", "ref"], na_position="first", kind="stable"
    ).reset_index(drop=True)
    return df.reindex(columns=columns).astype({c: "string" for c in cols})


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in ROW_COLUMNS})
