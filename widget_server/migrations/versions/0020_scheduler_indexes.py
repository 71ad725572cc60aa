"""Indexes for the scheduler's per-tenant jobs (issue 13).

- Make-up credits by tenant and expiry: the expiry reminders of one tenant read its credits
  running out within a week; SQLite answered from (tenant, id), reading every credit the
  tenant ever gave, every round.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0020'
down_revision: Union[str, None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('makeup_credit', schema=None) as batch_op:
        batch_op.create_index('ix_makeup_credit_tenant_expires', ['tenant', 'expires_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('makeup_credit', schema=None) as batch_op:
        batch_op.drop_index('ix_makeup_credit_tenant_expires')
