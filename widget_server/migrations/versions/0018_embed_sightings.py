"""The console's embed check (issue 17): the pages the embed snippet reported running on, by
origin and path, with whether that origin may frame the widget.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0018'
down_revision: Union[str, None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('embed_sighting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('first_seen', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'origin', 'path', name='uq_embed_sighting')
    )
    with op.batch_alter_table('embed_sighting', schema=None) as batch_op:
        batch_op.create_index('ix_embed_sighting_tenant_last_seen', ['tenant', 'last_seen'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('embed_sighting')
