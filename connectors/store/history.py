"""The findings history: runs, the current state of every finding, its status at every night.

The new / open / resolved decision is ``rules.lifecycle`` (pure); this module reads what it needs
of a scope's history, calls it, and saves what it returns, in one transaction per night.
See ``docs/store.md``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.store._sql import (
    _chunks,
    _frame,
    _frame_rows,
    _insert,
    _json,
    _now,
    _select,
    _sorted,
    _to_date,
)
from connectors.store.base import StoreBase
from connectors.store.tables import EVENTS, FINDING_DATES, FINDINGS, HISTORY_COLUMNS, RUNS
from rules import lifecycle
from schemas.contract import FINDING_COLUMNS

# The findings table as the lifecycle reads and writes it: text, dates ISO.
_ROW_TYPES = {c: "isodate" if c in FINDING_DATES else "string" for c in HISTORY_COLUMNS}
_EVENT_TYPES = {"as_of": "isodate", "first_seen": "isodate", "finding_id": "string", "status": "string"}


def _scope(run: dict) -> str:
    """History is kept per scope, so that a committee audit never resolves nightly findings."""
    mode = run.get("mode") or "nightly"
    committee = run.get("committee")
    return f"{mode}:{committee}" if committee else str(mode)


class HistoryStore(StoreBase):
    """The findings history of every scope (tables ``runs``, ``findings``, ``finding_events``)."""

    def record_run(self, run: dict, findings: pd.DataFrame, include_resolved: bool = False) -> pd.DataFrame:
        """Record a run and its findings; return the findings with ``status`` and ``first_seen``.

        ``include_resolved``: also return the findings resolved by this run (status ``resolved``,
        their last known columns, ``as_of`` of this run), after the current ones.

        The statuses are ``rules.lifecycle.decide``'s, from the previous run of the same scope with
        an earlier ``as_of`` only: re-running the same ``as_of`` gives the same statuses and leaves
        no duplicate rows. Here: read what it needs, save what it returns, in one transaction.
        """
        scope = _scope(run)
        as_of = _to_date(run["as_of"])
        if as_of is None:
            raise ValueError("run['as_of'] is required")
        day = as_of.isoformat()
        run_id = str(run.get("run_id") or f"{scope}/{day}")
        ids = lifecycle.finding_ids(findings)
        ev = EVENTS.c
        with self._file_guard(), self.engine.begin() as conn:
            self._lock(conn)
            prev_as_of = conn.execute(
                sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope, RUNS.c.as_of < as_of)
            ).scalar()
            latest = conn.execute(sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope)).scalar()
            is_latest = latest is None or _to_date(latest) <= as_of
            previous = self._events(
                conn, ev.scope == scope, ev.as_of == prev_as_of, columns=lifecycle.EVENT_COLUMNS
            )
            # Events already written for this as_of (an earlier attempt): replaced below.
            attempt = list(
                conn.execute(sa.select(ev.finding_id).where(ev.scope == scope, ev.as_of == as_of)).scalars()
            )
            conn.execute(EVENTS.delete().where(ev.scope == scope, ev.as_of == as_of))
            # The rows the decision may need (plain lists: iterating pyarrow strings is slow).
            seen = ids.tolist()
            was_open = previous.loc[previous["status"].isin(lifecycle.OPEN), "finding_id"].tolist()
            involved = [*seen, *was_open, *attempt] if is_latest else was_open if include_resolved else []
            others = sorted(set(attempt) - set(seen)) if is_latest else []
            history = lifecycle.History(
                previous_as_of=None if prev_as_of is None else _to_date(prev_as_of).isoformat(),
                previous=previous,
                latest=is_latest,
                stored=self._stored(conn, scope, involved),
                attempt=attempt,
                earlier=self._events(conn, ev.scope == scope, ev.as_of < as_of, ids=others),
            )
            night = lifecycle.decide(
                history, findings, day, scope=scope, run_id=run_id, include_resolved=include_resolved
            )
            _insert(conn, EVENTS, night.events.assign(scope=scope, as_of=day, run_id=run_id))
            self._save_rows(conn, scope, night.write, night.delete)
            counts = night.counts
            row = {
                "scope": scope,
                "as_of": as_of,
                "run_id": run_id,
                "mode": run.get("mode") or "nightly",
                "committee": run.get("committee"),
                "period": run.get("period"),
                "started_at": run.get("started_at"),
                "finished_at": run.get("finished_at") or _now(),
                **{k: counts[k] for k in ("n_findings", "n_new", "n_open", "n_resolved")},
                "counts": _json(counts["counts"]),
                "inputs": _json(run.get("inputs")),
                "summary": _json(run.get("summary")),
            }
            attempts = conn.execute(
                sa.select(RUNS.c.attempts).where(RUNS.c.scope == scope, RUNS.c.as_of == as_of)
            ).scalar()
            conn.execute(RUNS.delete().where(RUNS.c.scope == scope, RUNS.c.as_of == as_of))
            conn.execute(RUNS.insert(), [{**row, "attempts": (attempts or 0) + 1}])
            if not is_latest:
                # A night older than one already recorded (a rerun of yesterday, or two runs
                # serialised by the run lock in the "wrong" order): the later nights' statuses are
                # recomputed as if the nights had been run in date order.
                self._rechain(conn, scope, as_of, findings, night.events)
            from connectors.faults import fault_point

            fault_point("record history:transaction")  # the fault suite: a kill before the commit
        return night.findings

    def _rechain(
        self, conn: Connection, scope: str, as_of: date, findings: pd.DataFrame, events: pd.DataFrame
    ) -> None:
        """After ``as_of`` was recorded under later nights: recompute each later night's events
        from the night before it, then the ``findings`` rows of every finding involved, so the
        history is the one a run in date order would have left."""
        ev = EVENTS.c
        later = conn.execute(
            sa.select(RUNS.c.as_of, RUNS.c.run_id)
            .where(RUNS.c.scope == scope, RUNS.c.as_of > as_of)
            .order_by(RUNS.c.as_of)
        ).all()
        touched = set(findings["finding_id"].astype(str).tolist())
        previous = events
        for day, run_id in later:
            day = _to_date(day)
            stored = self._events(conn, ev.scope == scope, ev.as_of == day, columns=lifecycle.EVENT_COLUMNS)
            step = lifecycle.rechain_night(previous, stored, day.isoformat())
            if step.changed:
                touched |= set(step.touched)
                conn.execute(EVENTS.delete().where(ev.scope == scope, ev.as_of == day))
                _insert(conn, EVENTS, step.events.assign(scope=scope, as_of=day.isoformat(), run_id=run_id))
                conn.execute(
                    RUNS.update().where(RUNS.c.scope == scope, RUNS.c.as_of == day).values(**step.counts)
                )
            previous = step.events
        ids = sorted(touched)
        write, delete = lifecycle.rebuild(
            findings,
            self._stored(conn, scope, ids),
            self._events(conn, ev.scope == scope, ids=ids),
            ids,
            scope=scope,
            as_of=as_of.isoformat(),
        )
        self._save_rows(conn, scope, write, delete)

    def _stored(self, conn: Connection, scope: str, ids: list[str]) -> pd.DataFrame:
        """The ``findings`` rows of ``ids`` (text, ISO dates), as ``rules.lifecycle`` takes them."""
        f = FINDINGS.c
        rows: list[Any] = []
        for chunk in _chunks(sorted(set(ids))):
            rows += conn.execute(
                _select(*[f[c] for c in HISTORY_COLUMNS]).where(f.scope == scope, f.finding_id.in_(chunk))
            ).all()
        return _frame_rows(rows, HISTORY_COLUMNS, _ROW_TYPES)

    def _events(
        self,
        conn: Connection,
        *where: Any,
        ids: list[str] | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Events (``columns``, default as_of, finding_id, status, first_seen, run_id) matching
        ``where``, limited to ``ids`` when given; text, ISO dates."""
        ev = EVENTS.c
        cols = columns or ["as_of", "finding_id", "status", "first_seen", "run_id"]
        stmt = _select(*[ev[c] for c in cols]).where(*where)
        if ids is None:
            rows = conn.execute(stmt).all()
        else:
            rows = []
            for chunk in _chunks(sorted(set(ids))):
                rows += conn.execute(stmt.where(ev.finding_id.in_(chunk))).all()
        return _frame_rows(rows, cols, {c: _EVENT_TYPES.get(c, "string") for c in cols})

    def _save_rows(self, conn: Connection, scope: str, write: pd.DataFrame, delete: list[str]) -> None:
        """Replace the ``findings`` rows ``rules.lifecycle`` decided to write or delete."""
        f = FINDINGS.c
        for chunk in _chunks([*write["finding_id"].tolist(), *delete]):
            conn.execute(FINDINGS.delete().where(f.scope == scope, f.finding_id.in_(chunk)))
        _insert(conn, FINDINGS, write)

    def runs(self) -> pd.DataFrame:
        """One row per (scope, as_of): the latest attempt, with counts per list (json in ``counts``)."""
        with self.engine.connect() as conn:
            df = _frame(
                conn.execute(_select(*RUNS.columns)),
                {c: "int" for c in ("attempts", "n_findings", "n_new", "n_open", "n_resolved")}
                | {"as_of": "isodate"},
            )
        return _sorted(df, ["scope", "as_of"])

    def night_findings(self, scope: str, as_of: str) -> pd.DataFrame | None:
        """The findings.csv rows of night ``as_of`` as the history now gives them (seen that night,
        then those it resolved), or None when a later night is recorded (their rows moved on).

        Used after an older night was recorded under it (``_rechain``): the published set of
        ``as_of`` is refreshed with the statuses of a run in date order."""
        f = FINDINGS.c
        day = _to_date(as_of)
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(RUNS.c.as_of)).where(RUNS.c.scope == scope)).scalar()
            if latest is None or _to_date(latest) != day:
                return None
            cols = [c for c in [*FINDING_COLUMNS, "ref"] if c in f]
            seen = conn.execute(
                _select(*[f[c] for c in cols]).where(
                    f.scope == scope, f.last_seen == day, f.status != "resolved"
                )
            ).all()
            gone = conn.execute(
                _select(*[f[c] for c in cols]).where(
                    f.scope == scope, f.status == "resolved", f.resolved_on == day
                )
            ).all()
        types = {c: "isodate" for c in FINDING_DATES}
        current = _frame_rows(seen, cols, types)
        resolved = _frame_rows(gone, cols, types)
        resolved["as_of"] = day.isoformat()
        out = pd.concat([current, resolved], ignore_index=True) if len(resolved) else current
        return out.astype({c: "string" for c in cols})

    def trend(self, scope: str = "nightly") -> pd.DataFrame:
        """Findings per list and run date (long format: as_of, list_code, findings) for the board."""
        runs = self.runs()
        runs = runs[runs["scope"] == scope]
        rows = [
            (a, code, n)
            for a, counts in zip(runs["as_of"], runs["counts"], strict=True)
            for code, n in json.loads(counts or "{}").items()
        ]
        df = pd.DataFrame(rows, columns=["as_of", "list_code", "findings"])
        return df.astype({"as_of": "string", "list_code": "string", "findings": "int64"})

    def history(self, scope: str | None = None) -> pd.DataFrame:
        """Every finding ever recorded with its current status, first_seen, last_seen, resolved_on."""
        stmt = _select(*[FINDINGS.c[c] for c in HISTORY_COLUMNS])
        if scope is not None:
            stmt = stmt.where(FINDINGS.c.scope == scope)
        with self.engine.connect() as conn:
            df = _frame(conn.execute(stmt), {c: "isodate" for c in FINDING_DATES})
        return _sorted(df, ["scope", "list_code", "org_code", "member_code", "field", "ref", "finding_id"])

    def events(self, scope: str | None = None) -> pd.DataFrame:
        """The status of each finding at each run date (including the day it was resolved)."""
        stmt = _select(*EVENTS.columns)
        if scope is not None:
            stmt = stmt.where(EVENTS.c.scope == scope)
        with self.engine.connect() as conn:
            df = _frame(conn.execute(stmt), {"as_of": "isodate", "first_seen": "isodate"})
        return _sorted(df, ["scope", "as_of", "finding_id"])
