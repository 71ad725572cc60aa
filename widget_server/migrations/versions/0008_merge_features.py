"""Merge the self-service, payments and sharing branches, which grew side by side on 0004.

Revision ID: 0008
Revises: 0005, 0006, 0007
Create Date: 2026-11-22
"""
from typing import Sequence, Union

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = ("0005", "0006", "0007")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
