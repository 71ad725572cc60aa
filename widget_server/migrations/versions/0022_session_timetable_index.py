"""An index for a class's timetable (issue 13).

- Change class reads the timetable of the booking's class and of the classes it could move
  to (every session held, past ones too: a class's price is for all of them) by programme,
  leaving out cancelled sessions. From (programme_id, starts_at) each of its 230 sessions on
  the benchmark's page was also read from the table for `cancelled`, and PostgreSQL sorted
  them by id within a start. (programme_id, cancelled, starts_at, id) answers from the index
  alone, in order.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0022'
down_revision: Union[str, None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.create_index('ix_session_programme_timetable',
                              ['programme_id', 'cancelled', 'starts_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index('ix_session_programme_timetable')
