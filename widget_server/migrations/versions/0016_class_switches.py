"""Switching class for the rest of the term, and payments asked for by an accepted offer
(issue 16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('switch_policy', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='none'))
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_offer_id'), ['offer_id'], unique=False)
        batch_op.create_foreign_key('fk_payment_offer_id_offer', 'offer', ['offer_id'], ['id'],
                                    ondelete='RESTRICT')
    op.create_table('booking_switch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('from_programme_id', sa.Integer(), nullable=False),
    sa.Column('to_programme_id', sa.Integer(), nullable=False),
    sa.Column('to_class', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('moves', sa.JSON(), nullable=False),
    sa.Column('price_difference', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_programme_id'], ['programme.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_programme_id'], ['programme.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'external_id', name='uq_booking_switch_tenant_external_id')
    )
    with op.batch_alter_table('booking_switch', schema=None) as batch_op:
        batch_op.create_index('ix_booking_switch_tenant_booking', ['tenant', 'booking_id', 'status'], unique=False)
        batch_op.create_index('ix_booking_switch_tenant_status', ['tenant', 'status', 'id'], unique=False)
        batch_op.create_index('ix_booking_switch_tenant_id', ['tenant', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('booking_switch')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payment_offer_id_offer', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_offer_id'))
        batch_op.drop_column('offer_id')
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_column('switch_policy')
