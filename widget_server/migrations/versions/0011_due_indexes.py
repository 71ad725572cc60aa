"""Indexes for the scheduler's "which tenants have anything due" queries, across tenants:
sessions by start, credits by expiry, waiting-list entries by status.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from typing import Sequence, Union

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


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
