"""An index for the longest make-up validity of a tenant's programmes (issue 13).

- The scheduler's credits job asks for the longest `makeup_validity_days` of the tenant's
  programmes every round; SQLite answered from (tenant, makeup_group), reading every
  programme of the tenant. With (tenant, makeup_validity_days) the largest is one index entry.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0021'
down_revision: Union[str, None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.create_index('ix_programme_tenant_validity',
                              ['tenant', 'makeup_validity_days'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_tenant_validity')
