"""user e-mail skeletons recomputed: the key is case-folded and loses nonspacing marks

The third outside attack signed up ``b0b@`` beside ``bob@`` (the confusables table maps ``0``
to a capital ``O``, and the skeleton was not case-folded) and ``al\\u0131\\u0307ce@`` beside
``alice@`` (a combining dot over a dotless i). ``salon.domain.auth.lookalikes`` now compares
the skeleton case-folded and without category Mn marks; every stored ``users.email_skeleton``
is recomputed with it, else existing accounts would not be found by the new key.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op
from salon.domain.auth.skeletons import fill_email_skeletons

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None
# Data only: code at 0020 compares its own (older) key with the stored ones, so it misses some
# lookalikes, as it did before; equal keys still mean addresses that look alike, so it never
# refuses a real address wrongly.
oldest_compatible = "0020"


def upgrade() -> None:
    fill_email_skeletons(op.get_bind())


def downgrade() -> None:
    """The keys stay: older code only misses more lookalikes with them (see above)."""
