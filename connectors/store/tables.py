"""The tables of the results database (created by the migrations in ``connectors/migrations``;
described in ``docs/store.md``): the findings history and the sync store. ``METADATA`` also holds
the answers' tables (``connectors.answers``)."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.store._sql import _sa_type
from schemas.contract import FINDING_COLUMNS, LINEAGE_COLUMNS, QUARANTINE_COLUMNS, SHEET_TABLES, SHEETS

# Tables whose earlier periods of the year are read back (the year's activity, earlier transfers).
HISTORY_TABLES = ("activity", "transfers_out", "transfers_in")
SUB_TABLES: dict[str, str] = {name: f"sub_{name}" for name in SHEET_TABLES.values()}
_SHEET_COLUMNS: dict[str, list[str]] = {SHEET_TABLES[s]: list(cols.values()) for s, cols in SHEETS.items()}
BASE_COLUMNS = ["cell_code", "period", *LINEAGE_COLUMNS]
WORKBOOK_COLUMNS = ["cell_code", "period", "created_on", "secretary", "_source", "checksum", "superseded"]
HISTORY_COLUMNS = ["scope", *FINDING_COLUMNS, "ref", "last_seen", "resolved_on", "last_run_id"]
FINDING_DATES = ["as_of", "due_date", "first_seen", "last_seen", "resolved_on"]

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite
METADATA = sa.MetaData()

RUNS = sa.Table(
    "runs",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),  # "nightly", or "<mode>:<committee>"
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text),
    sa.Column("committee", sa.Text),
    sa.Column("period", sa.Text),
    sa.Column("started_at", sa.Text),
    sa.Column("finished_at", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("n_findings", sa.Integer, nullable=False),
    sa.Column("n_new", sa.Integer, nullable=False),
    sa.Column("n_open", sa.Integer, nullable=False),
    sa.Column("n_resolved", sa.Integer, nullable=False),
    sa.Column("counts", sa.Text),  # json {list_code: findings}
    sa.Column("inputs", sa.Text),  # json
    sa.Column("summary", sa.Text),  # json
)
FINDINGS = sa.Table(
    "findings",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("finding_id", sa.Text, primary_key=True),
    *[
        sa.Column(c, sa.Date if c in FINDING_DATES else sa.Text)
        for c in FINDING_COLUMNS
        if c not in ("finding_id",)
    ],
    sa.Column("ref", sa.Text),
    sa.Column("last_seen", sa.Date),
    sa.Column("resolved_on", sa.Date),
    sa.Column("last_run_id", sa.Text),
    sa.Index("ix_findings_status", "scope", "status"),
    sa.Index("ix_findings_org", "org_code"),
)
EVENTS = sa.Table(
    "finding_events",
    METADATA,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("finding_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Date, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Index("ix_finding_events_finding", "scope", "finding_id"),
)
WORKBOOKS = sa.Table(
    "sub_workbooks",
    METADATA,
    sa.Column("checksum", sa.Text, primary_key=True),
    sa.Column("file", sa.Text),
    sa.Column("cell_code", sa.Text),
    sa.Column("period", sa.Text),
    sa.Column("created_on", sa.Date),
    sa.Column("secretary", sa.Text),
    sa.Column("loaded_at", sa.Text, nullable=False),
    sa.Column("load_seq", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # accepted / superseded / rejected
    sa.Column("superseded_by", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_accepted", sa.Integer),
    sa.Column("rows_quarantined", sa.Integer),
    sa.Column("rows_detail", sa.Text),  # json of the per-sheet counts
    sa.Index("ix_sub_workbooks_cell_period", "cell_code", "period"),
    sa.Index("ix_sub_workbooks_period_status", "period", "status"),
)
SUB: dict[str, sa.Table] = {}
for _sheet, _cols in SHEETS.items():
    _name = SUB_TABLES[SHEET_TABLES[_sheet]]
    SUB[SHEET_TABLES[_sheet]] = sa.Table(
        _name,
        METADATA,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("checksum", sa.Text, nullable=False),
        *[sa.Column(c, _sa_type(c)) for c in [*BASE_COLUMNS, *_cols.values()]],
        sa.Index(f"ix_{_name}_checksum", "checksum"),
        sa.Index(f"ix_{_name}_period_cell", "period", "cell_code"),
    )
QUARANTINE = sa.Table(
    "sub_quarantine",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("cell_code", sa.Text),
    sa.Column("period", sa.Text),
    *[sa.Column(c, _sa_type(c)) for c in QUARANTINE_COLUMNS],
    # error: the row was rejected (or the file); warning: a field-level fault of an accepted row
    # (value blanked, ID disagreeing) or of the file (hidden sheet, unknown column); NULL = error.
    sa.Column("severity", sa.Text),
    sa.Index("ix_sub_quarantine_checksum", "checksum"),
)
VIEWS = ("register_roster", "register_coverage")
