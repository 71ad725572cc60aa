"""The provider console (issue 17): staff logins and sessions kept apart from families', a
read-only "view as" session, the audit log, each outbox message's client (the delivery log),
and daily counts of what families did themselves (the dashboard).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0017'
down_revision: Union[str, None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('login_challenge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='client'))
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='client'))
        batch_op.add_column(sa.Column('viewer', sqlmodel.sql.sqltypes.AutoString(length=320),
                                      nullable=True))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_outbox_message_client_id_client', 'client',
                                    ['client_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_outbox_tenant_client', ['tenant', 'client_id', 'id'],
                              unique=False)
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_tenant_id', ['tenant', 'id'], unique=False)
        batch_op.create_index('ix_audit_entry_tenant_client', ['tenant', 'client_id', 'id'],
                              unique=False)


    op.create_table('activity_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant', 'kind', 'day', name='uq_activity_count')
    )
    with op.batch_alter_table('activity_count', schema=None) as batch_op:
        batch_op.create_index('ix_activity_count_tenant_day', ['tenant', 'day'], unique=False)


def downgrade() -> None:
    op.drop_table('activity_count')
    op.drop_table('audit_entry')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_tenant_client')
        batch_op.drop_constraint('fk_outbox_message_client_id_client', type_='foreignkey')
        batch_op.drop_column('client_id')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_column('viewer')
        batch_op.drop_column('kind')
    with op.batch_alter_table('login_challenge', schema=None) as batch_op:
        batch_op.drop_column('kind')
