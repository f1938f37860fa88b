"""The committees' answers (issue #20): returned workbooks, every answer with its history, and the
board's decisions (who and when).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "response_files",
        sa.Column("checksum", sa.Text, primary_key=True),
        sa.Column("file", sa.Text),
        sa.Column("committee_code", sa.Text),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("loaded_at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("rows_answered", sa.Integer, nullable=False),
        sa.Column("rows_recorded", sa.Integer, nullable=False),
        sa.Column("rows_quarantined", sa.Integer, nullable=False),
    )
    op.create_table(
        "answers",
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
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rule", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("loaded_at", sa.Text, nullable=False),
    )
    op.create_index("ix_answers_finding", "answers", ["finding_id"])
    op.create_index("ix_answers_checksum", "answers", ["checksum"])
    op.create_table(
        "decisions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("finding_id", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("decided_at", sa.Text, nullable=False),
        sa.Column("facts", sa.Text),
        sa.Column("source", sa.Text),
    )
    op.create_index("ix_decisions_finding", "decisions", ["finding_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_finding", "decisions")
    op.drop_table("decisions")
    op.drop_index("ix_answers_checksum", "answers")
    op.drop_index("ix_answers_finding", "answers")
    op.drop_table("answers")
    op.drop_table("response_files")
