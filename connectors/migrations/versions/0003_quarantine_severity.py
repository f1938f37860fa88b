"""Quarantine lines get a severity: ``error`` (a rejected row or file) or ``warning`` (a field-level
fault of an accepted row or file, issue #15). Lines stored before have none (read as ``error``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sub_quarantine") as batch:
        batch.add_column(sa.Column("severity", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("sub_quarantine") as batch:
        batch.drop_column("severity")
