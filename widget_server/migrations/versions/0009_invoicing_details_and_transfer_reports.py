"""invoicing details (the buyer's billing details, the date of supply) and reported transfers

Revision ID: 0009_invoicing
Revises: 0008
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_invoicing"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", text(length=400), nullable=True))
        batch_op.add_column(sa.Column("company_name", text(length=200), nullable=True))
        batch_op.add_column(sa.Column("company_number", text(length=32), nullable=True))
        batch_op.add_column(sa.Column("tax_id", text(length=32), nullable=True))
        batch_op.add_column(sa.Column("vat_id", text(length=32), nullable=True))
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supply_date", sa.Date(), nullable=True))
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_reported_at",
                                      sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("transfer_reported_at")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("supply_date")
    with op.batch_alter_table("client", schema=None) as batch_op:
        for column in ("vat_id", "tax_id", "company_number", "company_name", "address"):
            batch_op.drop_column(column)
