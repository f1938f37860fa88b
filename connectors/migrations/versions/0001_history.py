"""Findings history and runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copy of the finding columns at this revision (schemas.contract.FINDING_COLUMNS + ref).
_FINDING_TEXT = [
    "list_code",
    "severity",
    "org_code",
    "committee_code",
    "member_code",
    "field",
    "central_value",
    "cell_value",
    "detail",
    "rule",
    "status",
    "ref",
    "last_run_id",
]
_FINDING_DATES = ["as_of", "due_date", "first_seen", "last_seen", "resolved_on"]


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("scope", sa.Text, primary_key=True),
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
        sa.Column("counts", sa.Text),
        sa.Column("inputs", sa.Text),
        sa.Column("summary", sa.Text),
    )
    op.create_table(
        "findings",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("finding_id", sa.Text, primary_key=True),
        sa.Column("as_of", sa.Date),
        sa.Column("list_code", sa.Text),
        sa.Column("severity", sa.Text),
        sa.Column("org_code", sa.Text),
        sa.Column("committee_code", sa.Text),
        sa.Column("member_code", sa.Text),
        sa.Column("field", sa.Text),
        sa.Column("central_value", sa.Text),
        sa.Column("cell_value", sa.Text),
        sa.Column("due_date", sa.Date),
        sa.Column("detail", sa.Text),
        sa.Column("rule", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("first_seen", sa.Date),
        sa.Column("ref", sa.Text),
        sa.Column("last_seen", sa.Date),
        sa.Column("resolved_on", sa.Date),
        sa.Column("last_run_id", sa.Text),
    )
    op.create_index("ix_findings_status", "findings", ["scope", "status"])
    op.create_index("ix_findings_org", "findings", ["org_code"])
    op.create_table(
        "finding_events",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("finding_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Date, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
    )
    op.create_index("ix_finding_events_finding", "finding_events", ["scope", "finding_id"])


def downgrade() -> None:
    op.drop_table("finding_events")
    op.drop_table("findings")
    op.drop_table("runs")
