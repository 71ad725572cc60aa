"""Indexes for what grows with a school's timetable (issue 13).

- Sessions by tenant, programme and start: the make-up and move searches ask for a
  programme's sessions to come, and SQLite answered from (tenant, starts_at), reading the
  tenant's every session to come (50 ms at 100,000 sessions).
- Programmes by tenant and make-up group: changing class reads the group's other classes.
- A booking's changes of class by tenant, booking and id: its latest change was found by
  walking the tenant's changes newest first (every one of them for a booking without any).

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
    with op.batch_alter_table('booking_switch', schema=None) as batch_op:
        batch_op.create_index('ix_booking_switch_tenant_booking_id',
                              ['tenant', 'booking_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking_switch', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_switch_tenant_booking_id')
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_tenant_group')
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index('ix_session_tenant_programme_starts')
