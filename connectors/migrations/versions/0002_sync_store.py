"""Sync store: every loaded workbook and its accepted / quarantined rows, with lineage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copy of the submission columns at this revision (schemas.contract.SHEETS).
_TABLES: dict[str, list[str]] = {
    "sub_roster": [
        "member_code",
        "full_name",
        "birth_date",
        "gender",
        "personal_id",
        "admission_date",
        "official_date",
        "roster_status",
    ],
    "sub_activity": ["member_code", "month", "attended", "excused", "fees_paid"],
    "sub_ratings": ["member_code", "year", "rating"],
    "sub_transfers_out": [
        "member_code",
        "kind",
        "to_org",
        "letter_date",
        "notice_sent_on",
        "fees_paid_through",
    ],
    "sub_transfers_in": [
        "member_code",
        "kind",
        "from_org",
        "letter_date",
        "received_on",
        "dossier_received_on",
    ],
    "sub_candidates": [
        "personal_id",
        "full_name",
        "birth_date",
        "candidate_kind",
        "rating_y1",
        "rating_y2",
        "rating_y3",
        "emulation_fighter",
        "provincial_merit",
        "course_certificate_on",
        "background_verified",
        "political_conclusion_on",
    ],
    "sub_screening": ["member_code", "category", "note"],
}
_DATES = {
    "birth_date",
    "admission_date",
    "official_date",
    "letter_date",
    "notice_sent_on",
    "received_on",
    "dossier_received_on",
    "course_certificate_on",
    "political_conclusion_on",
}
_BOOLS = {"attended", "excused", "fees_paid", "emulation_fighter", "provincial_merit", "background_verified"}
_INTS = {"year", "category", "_row", "row"}
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _type(column: str) -> sa.types.TypeEngine:
    if column in _DATES:
        return sa.Date()
    if column in _BOOLS:
        return sa.Boolean()
    if column in _INTS:
        return sa.Integer()
    return sa.Text()


def upgrade() -> None:
    op.create_table(
        "sub_workbooks",
        sa.Column("checksum", sa.Text, primary_key=True),
        sa.Column("file", sa.Text),
        sa.Column("cell_code", sa.Text),
        sa.Column("period", sa.Text),
        sa.Column("created_on", sa.Date),
        sa.Column("secretary", sa.Text),
        sa.Column("loaded_at", sa.Text, nullable=False),
        sa.Column("load_seq", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("superseded_by", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("rows_read", sa.Integer),
        sa.Column("rows_accepted", sa.Integer),
        sa.Column("rows_quarantined", sa.Integer),
        sa.Column("rows_detail", sa.Text),
    )
    op.create_index("ix_sub_workbooks_cell_period", "sub_workbooks", ["cell_code", "period"])
    op.create_index("ix_sub_workbooks_period_status", "sub_workbooks", ["period", "status"])
    base = ["cell_code", "period", "_source", "_sheet", "_row"]
    for name, columns in _TABLES.items():
        op.create_table(
            name,
            sa.Column("id", _ID, primary_key=True, autoincrement=True),
            sa.Column("checksum", sa.Text, nullable=False),
            *[sa.Column(c, _type(c)) for c in base + columns],
        )
        op.create_index(f"ix_{name}_checksum", name, ["checksum"])
        op.create_index(f"ix_{name}_period_cell", name, ["period", "cell_code"])
    op.create_table(
        "sub_quarantine",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("cell_code", sa.Text),
        sa.Column("period", sa.Text),
        *[sa.Column(c, _type(c)) for c in ["source", "sheet", "row", "column", "rule", "value", "message"]],
    )
    op.create_index("ix_sub_quarantine_checksum", "sub_quarantine", ["checksum"])
    # The consolidated register: the current (accepted, not superseded) roster of every cell and
    # period, with the workbook's date; join it with central's members on member_code.
    roster_cols = ", ".join(f"r.{c}" for c in ["cell_code", "period", *_TABLES["sub_roster"]])
    op.execute(
        f"CREATE VIEW register_roster AS SELECT {roster_cols}, w.created_on, w.file AS _source, "
        "r._sheet, r._row, r.checksum FROM sub_roster r "
        "JOIN sub_workbooks w ON w.checksum = r.checksum WHERE w.status = 'accepted'"
    )
    # Every cell that ever submitted x every period anyone submitted: received or missing.
    op.execute(
        "CREATE VIEW register_coverage AS "
        "SELECT c.cell_code, p.period, w.checksum, w.file, w.created_on, "
        "CASE WHEN w.checksum IS NULL THEN 'missing' ELSE 'received' END AS status "
        "FROM (SELECT DISTINCT cell_code FROM sub_workbooks WHERE status <> 'rejected') c "
        "CROSS JOIN (SELECT DISTINCT period FROM sub_workbooks WHERE status <> 'rejected') p "
        "LEFT JOIN sub_workbooks w ON w.cell_code = c.cell_code AND w.period = p.period "
        "AND w.status = 'accepted'"
    )


def downgrade() -> None:
    op.execute("DROP VIEW register_coverage")
    op.execute("DROP VIEW register_roster")
    op.drop_table("sub_quarantine")
    for name in reversed(list(_TABLES)):
        op.drop_table(name)
    op.drop_table("sub_workbooks")
