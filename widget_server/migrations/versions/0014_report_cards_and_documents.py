"""Report cards on an attendee, documents shared with families (their bytes in chunks when
kept in the database), and when a person first opened either (issue 15).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('first_open',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'email', 'kind', 'item_id', name='uq_first_open_person_item')
    )
    with op.batch_alter_table('first_open', schema=None) as batch_op:
        batch_op.create_index('ix_first_open_item', ['tenant', 'kind', 'item_id'], unique=False)

    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('attendee_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('storage', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'external_id', name='uq_document_tenant_external_id')
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_tenant_attendee', ['tenant', 'attendee_id'], unique=False)
        batch_op.create_index('ix_document_tenant_audience', ['tenant', 'audience', 'published_at'], unique=False)
        batch_op.create_index('ix_document_tenant_client', ['tenant', 'client_id'], unique=False)
        batch_op.create_index('ix_document_tenant_id', ['tenant', 'id'], unique=False)
        batch_op.create_index('ix_document_tenant_programme', ['tenant', 'programme_id'], unique=False)

    op.create_table('report_card',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('level_id', sa.Integer(), nullable=True),
    sa.Column('term', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('instructor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('announced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['level_id'], ['level.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'external_id', name='uq_report_card_tenant_external_id')
    )
    with op.batch_alter_table('report_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_card_level_id'), ['level_id'], unique=False)
        batch_op.create_index('ix_report_card_tenant_attendee', ['tenant', 'attendee_id', 'published_at'], unique=False)
        batch_op.create_index('ix_report_card_unannounced', ['announced_at', 'published'], unique=False)
        batch_op.create_index('ix_report_card_tenant_id', ['tenant', 'id'], unique=False)

    op.create_table('document_chunk',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('document_chunk')
    with op.batch_alter_table('report_card', schema=None) as batch_op:
        batch_op.drop_index('ix_report_card_tenant_id')
        batch_op.drop_index('ix_report_card_unannounced')
        batch_op.drop_index('ix_report_card_tenant_attendee')
        batch_op.drop_index(batch_op.f('ix_report_card_level_id'))

    op.drop_table('report_card')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('ix_document_tenant_programme')
        batch_op.drop_index('ix_document_tenant_id')
        batch_op.drop_index('ix_document_tenant_client')
        batch_op.drop_index('ix_document_tenant_audience')
        batch_op.drop_index('ix_document_tenant_attendee')

    op.drop_table('document')
    with op.batch_alter_table('first_open', schema=None) as batch_op:
        batch_op.drop_index('ix_first_open_item')

    op.drop_table('first_open')
