"""Indexes for the scheduler's "which tenants have anything due" queries, across tenants:
sessions by start, credits by expiry, waiting-list entries by status; and the lease that lets
one process at a time run the periodic rounds.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [
    ("ix_session_starts", "session", ["starts_at"]),
    ("ix_makeup_credit_expires", "makeup_credit", ["expires_at"]),
    ("ix_makeup_waitlist_status_tenant", "makeup_waitlist", ["status", "tenant"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        'scheduler_lease',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('scheduler_lease')
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
