"""Indexes that lead with the tenant and the owner (client, attendee, booking), so a family's
pages read their own rows instead of the tenant's, and (tenant, id) for the API's keyset pages;
joins the two 0009 heads.

Revision ID: 0010
Revises: 0009_invoicing, 0009ss
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = ('0009_invoicing', '0009ss')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [
    ("ix_attendee_tenant_client", "attendee", ["tenant", "client_id"]),
    ("ix_booking_tenant_client", "booking", ["tenant", "client_id"]),
    ("ix_booking_tenant_attendee", "booking", ["tenant", "attendee_id"]),
    ("ix_attendance_tenant_booking", "attendance", ["tenant", "booking_id", "session_id"]),
    ("ix_booking_share_tenant_booking", "booking_share", ["tenant", "booking_id"]),
] + [
    # The sync API's keyset pages: `WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`.
    (f"ix_{table}_tenant_id", table, ["tenant", "id"])
    for table in ("client", "attendee", "programme", "session", "booking", "attendance",
                  "makeup_credit", "order", "payment", "invoice", "entry_pass", "discount",
                  "credit_entry", "booking_share")
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
