"""Offers of a place (re-enrolment, trial to enrolment, move up) and the classes each proposes
(issue 16).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('level_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('hold_places', sa.Boolean(), nullable=False),
    sa.Column('pay_on_accept', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chosen_option', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('decline_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['level_id'], ['level.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'external_id', name='uq_offer_tenant_external_id')
    )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_level_id'), ['level_id'], unique=False)
        batch_op.create_index('ix_offer_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index('ix_offer_tenant_attendee', ['tenant', 'attendee_id', 'status'], unique=False)
        batch_op.create_index('ix_offer_tenant_booking', ['tenant', 'booking_id'], unique=False)
        batch_op.create_index('ix_offer_tenant_client', ['tenant', 'client_id'], unique=False)
        batch_op.create_index('ix_offer_tenant_status', ['tenant', 'status', 'id'], unique=False)
        batch_op.create_index('ix_offer_tenant_id', ['tenant', 'id'], unique=False)

    op.create_table('offer_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('first_session_id', sa.Integer(), nullable=True),
    sa.Column('sessions', sa.Integer(), nullable=True),
    sa.Column('price', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['first_session_id'], ['session.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('offer_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_option_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index('ix_offer_option_programme', ['programme_id', 'first_session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('offer_option', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_option_programme')
        batch_op.drop_index(batch_op.f('ix_offer_option_offer_id'))

    op.drop_table('offer_option')
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_tenant_id')
        batch_op.drop_index('ix_offer_tenant_status')
        batch_op.drop_index('ix_offer_tenant_client')
        batch_op.drop_index('ix_offer_tenant_booking')
        batch_op.drop_index('ix_offer_tenant_attendee')
        batch_op.drop_index('ix_offer_status_deadline')
        batch_op.drop_index(batch_op.f('ix_offer_level_id'))

    op.drop_table('offer')
