"""The committees' answers in the results database (issue #20; migration ``0004``).

Three tables, written in one transaction per returned workbook:

- ``response_files``: one row per returned workbook ever read (by checksum: a file is read once);
- ``answers``: every answer row read, recorded (``status`` = ``recorded``) or quarantined
  (``rejected``, with its rule and Vietnamese message): nothing a committee wrote is lost, and the
  answers of a finding over time are its history;
- ``decisions``: the board's decisions (``accepted``) and the reopenings of accepted findings whose
  facts changed (``reopened``), each with who (``decided_by``) and when.

``facts`` (answers and decisions) is the fingerprint of the finding's central and cell values when
it was answered or decided (``rules.answers.facts``): a change after that is what reopens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors.store import _ID, METADATA, RUNS, ResultsStore, _chunks, _insert, _json, _to_date

RESPONSE_FILES = sa.Table(
    "response_files",
    METADATA,
    sa.Column("checksum", sa.Text, primary_key=True),
    sa.Column("file", sa.Text),
    sa.Column("committee_code", sa.Text),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("loaded_at", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # accepted / rejected
    sa.Column("rule", sa.Text),  # a rejected file: response_file, response_wrong_committee
    sa.Column("error", sa.Text),
    sa.Column("rows_answered", sa.Integer, nullable=False),
    sa.Column("rows_recorded", sa.Integer, nullable=False),
    sa.Column("rows_quarantined", sa.Integer, nullable=False),
)
ANSWERS = sa.Table(
    "answers",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("file", sa.Text),
    sa.Column("sheet", sa.Text),
    sa.Column("row", sa.Integer),
    sa.Column("committee_code", sa.Text),
    sa.Column("finding_id", sa.Text),
    sa.Column("response", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("responded_on", sa.Date, nullable=False),
    sa.Column("facts", sa.Text),
    sa.Column("status", sa.Text, nullable=False),  # recorded / rejected
    sa.Column("rule", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("loaded_at", sa.Text, nullable=False),
    sa.Index("ix_answers_finding", "finding_id"),
    sa.Index("ix_answers_checksum", "checksum"),
)
DECISIONS = sa.Table(
    "decisions",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("finding_id", sa.Text, nullable=False),
    sa.Column("decision", sa.Text, nullable=False),  # accepted / reopened
    sa.Column("note", sa.Text),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("decided_at", sa.Text, nullable=False),
    sa.Column("facts", sa.Text),
    sa.Column("source", sa.Text),  # cli / the board's workbook file / dvsync (a reopening)
    sa.Index("ix_decisions_finding", "finding_id"),
)

ANSWER_COLUMNS = [c.name for c in ANSWERS.columns if c.name != "id"]
DECISION_COLUMNS = [c.name for c in DECISIONS.columns if c.name != "id"]
STORED_FINDING_COLUMNS = [
    "finding_id",
    "scope",
    "list_code",
    "org_code",
    "member_code",
    "central_value",
    "cell_value",
    "status",
    "last_seen",
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for c in columns:
        if c in ("id", "row"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
        else:
            s = df[c]
            if len(s) and s.map(lambda v: isinstance(v, date)).any():
                s = s.map(lambda v: v.isoformat() if isinstance(v, date) else v)
            df[c] = s.astype("string")
    return df


class AnswerStore:
    """The answers' tables of a results database (``ResultsStore``, already migrated)."""

    def __init__(self, store: ResultsStore | str):
        self.store = store if isinstance(store, ResultsStore) else ResultsStore(store)
        self.engine = self.store.engine

    def dispose(self) -> None:
        self.store.dispose()

    # -- reading ---------------------------------------------------------------------------------
    def known_checksums(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(RESPONSE_FILES.c.checksum)).scalars())

    def files(self) -> pd.DataFrame:
        cols = [c.name for c in RESPONSE_FILES.columns]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(RESPONSE_FILES).order_by(RESPONSE_FILES.c.loaded_at)).all()
        return _frame(rows, cols)

    def answers(self, status: str | None = "recorded") -> pd.DataFrame:
        """Every answer (oldest first); ``status=None``: the quarantined ones too."""
        stmt = sa.select(ANSWERS).order_by(ANSWERS.c.id)
        if status is not None:
            stmt = stmt.where(ANSWERS.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return _frame(rows, ["id", *ANSWER_COLUMNS])

    def decisions(self) -> pd.DataFrame:
        """Every decision, oldest first (who: ``decided_by``; when: ``decided_on``, ``decided_at``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(DECISIONS).order_by(DECISIONS.c.id)).all()
        return _frame(rows, ["id", *DECISION_COLUMNS])

    def stored_findings(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The findings table's rows (every scope) of ``ids`` (all when None), one per finding:
        the nightly's row first, else the one last seen."""
        from connectors.store import FINDINGS

        cols = [FINDINGS.c[c] for c in STORED_FINDING_COLUMNS]
        rows: list[Any] = []
        with self.engine.connect() as conn:
            if ids is None:
                rows = conn.execute(sa.select(*cols)).all()
            else:
                for chunk in _chunks(sorted(set(ids))):
                    rows += conn.execute(sa.select(*cols).where(FINDINGS.c.finding_id.in_(chunk))).all()
        df = _frame(rows, STORED_FINDING_COLUMNS)
        df["_rank"] = (df["scope"] != "nightly").astype(int)
        df = df.sort_values(
            ["finding_id", "_rank", "last_seen"], ascending=[True, True, False], kind="mergesort"
        )
        return df.drop_duplicates("finding_id").drop(columns="_rank").reset_index(drop=True)

    # -- writing ---------------------------------------------------------------------------------
    def record_file(self, meta: dict, answers: pd.DataFrame, decisions: pd.DataFrame | None = None) -> None:
        """One returned workbook, its answer rows (recorded and rejected) and the board's decisions
        it carries, in one transaction."""
        loaded_at = _now()
        with self.store._file_guard(), self.engine.begin() as conn:
            conn.execute(RESPONSE_FILES.delete().where(RESPONSE_FILES.c.checksum == meta["checksum"]))
            conn.execute(ANSWERS.delete().where(ANSWERS.c.checksum == meta["checksum"]))
            n_rec = int((answers["status"] == "recorded").sum()) if len(answers) else 0
            n_rej = int((answers["status"] == "rejected").sum()) if len(answers) else 0
            conn.execute(
                RESPONSE_FILES.insert(),
                [
                    {
                        "checksum": meta["checksum"],
                        "file": meta.get("file"),
                        "committee_code": meta.get("committee_code"),
                        "received_on": _to_date(meta["received_on"]),
                        "loaded_at": loaded_at,
                        "status": "rejected" if meta.get("error") else "accepted",
                        "rule": meta.get("rule") if meta.get("error") else None,
                        "error": meta.get("error"),
                        "rows_answered": int(meta.get("rows_answered", len(answers))),
                        "rows_recorded": n_rec,
                        "rows_quarantined": n_rej,
                    }
                ],
            )
            if len(answers):
                rows = answers.reindex(columns=ANSWER_COLUMNS).copy()
                rows["checksum"] = meta["checksum"]
                rows["loaded_at"] = loaded_at
                _insert(conn, ANSWERS, rows)
            if decisions is not None and len(decisions):
                _insert(conn, DECISIONS, decisions.reindex(columns=DECISION_COLUMNS))

    def add_decisions(self, decisions: pd.DataFrame) -> int:
        """Record decisions (one transaction); returns how many."""
        if decisions is None or decisions.empty:
            return 0
        with self.store._file_guard(), self.engine.begin() as conn:
            _insert(conn, DECISIONS, decisions.reindex(columns=DECISION_COLUMNS))
        return len(decisions)

    def accept(self, finding_id: str, note: str, by: str, on: date, source: str = "cli") -> dict:
        """The board accepts a finding's explanation (``dvsync accept``): ValueError when the
        finding is unknown or already resolved. Returns the decision recorded."""
        from rules.answers import facts

        found = self.stored_findings([finding_id])
        if found.empty:
            raise ValueError(f"không có phát hiện mã {finding_id} trong CSDL kết quả")
        row = found.iloc[0]
        if row["status"] == "resolved":
            raise ValueError(f"phát hiện {finding_id} đã được khắc phục (đã đóng), không cần chấp nhận")
        decision = {
            "finding_id": finding_id,
            "decision": "accepted",
            "note": note,
            "decided_by": by,
            "decided_on": on,
            "decided_at": _now(),
            "facts": facts(found).iloc[0],
            "source": source,
        }
        self.add_decisions(pd.DataFrame([decision]))
        return decision

    def set_run_counts(self, scope: str, as_of: str, counts: dict[str, int]) -> None:
        """The run's counts per list without the accepted findings (the board report's trend)."""
        with self.store._file_guard(), self.engine.begin() as conn:
            conn.execute(
                RUNS.update()
                .where(RUNS.c.scope == scope, RUNS.c.as_of == _to_date(as_of))
                .values(counts=_json({k: int(v) for k, v in sorted(counts.items())}))
            )

    def rejected_lines(self, checksums: set[str]) -> pd.DataFrame:
        """Quarantine lines of the returned workbooks still in the responses folder: a rejected
        file, each rejected answer row (every night while the file stays there)."""
        from schemas.contract import QUARANTINE_COLUMNS

        columns = [*QUARANTINE_COLUMNS, "severity", "_cell"]
        if not checksums:
            return pd.DataFrame(columns=columns)
        files, rows = [], []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(checksums)):
                files += conn.execute(
                    sa.select(
                        RESPONSE_FILES.c.file,
                        RESPONSE_FILES.c.committee_code,
                        RESPONSE_FILES.c.rule,
                        RESPONSE_FILES.c.error,
                    ).where(RESPONSE_FILES.c.checksum.in_(chunk), RESPONSE_FILES.c.status == "rejected")
                ).all()
                rows += conn.execute(
                    sa.select(
                        ANSWERS.c.file,
                        ANSWERS.c.sheet,
                        ANSWERS.c.row,
                        ANSWERS.c.rule,
                        ANSWERS.c.finding_id,
                        ANSWERS.c.message,
                        ANSWERS.c.committee_code,
                    ).where(ANSWERS.c.checksum.in_(chunk), ANSWERS.c.status == "rejected")
                ).all()
        f = pd.DataFrame([tuple(r) for r in files], columns=["file", "committee_code", "rule", "error"])
        a = pd.DataFrame(
            [tuple(r) for r in rows],
            columns=["file", "sheet", "row", "rule", "finding_id", "message", "committee_code"],
        )
        lines = pd.concat(
            [
                pd.DataFrame(
                    {
                        "source": f["file"],
                        "sheet": "",
                        "row": pd.NA,
                        "column": "",
                        "rule": f["rule"].fillna("response_file"),
                        "value": "",
                        "message": f["error"],
                        "severity": "error",
                        "_cell": f["committee_code"],
                    }
                ),
                pd.DataFrame(
                    {
                        "source": a["file"],
                        "sheet": a["sheet"],
                        "row": a["row"],
                        "column": "Mã phát hiện",
                        "rule": a["rule"],
                        "value": a["finding_id"],
                        "message": a["message"],
                        "severity": "error",
                        "_cell": a["committee_code"],
                    }
                ),
            ],
            ignore_index=True,
        )
        lines["row"] = pd.to_numeric(lines["row"], errors="coerce").astype("Int64")
        for c in columns:
            if c != "row":
                lines[c] = lines[c].astype("string")
        return lines[columns].sort_values(["source", "sheet", "row"], kind="mergesort").reset_index(drop=True)
