"""The index /metrics reads at each scrape: undelivered outbox messages per channel, oldest
first, without touching the sent ones that pile up.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_outbox_waiting', 'outbox_message', ['status', 'channel', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_waiting', table_name='outbox_message')
