"""Sessions found by tenant, programme and time, and programmes by make-up group (issue 13):
the make-up and move searches ask for a programme's sessions to come within the tenant, and
without this index SQLite read the tenant's every session to come (50 ms at 100,000 sessions);
changing class reads the other classes of the booking's make-up group.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0019'
down_revision: Union[str, None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.create_index('ix_session_tenant_programme_starts',
                              ['tenant', 'programme_id', 'starts_at'], unique=False)
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.create_index('ix_programme_tenant_group', ['tenant', 'makeup_group'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_tenant_group')
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index('ix_session_tenant_programme_starts')
