"""image search: a full-text index over each image's words, kept by the database itself

``image_search`` holds one row per image: its ``document``, the words search matches (title,
description, original file name, camera, lens, source and the source's title, explanation and
copyright from ``images.meta``, and the names of the albums it is in). Triggers on images,
albums and album_images rewrite it in the same transaction as the write, whatever code makes
it (ORM, bulk statements, raw SQL, older releases), so a search never lags an edit.

- SQLite: an FTS5 table ``image_search_fts`` (external content: ``image_search``, unicode61
  with diacritics removed) kept by triggers on ``image_search``.
- PostgreSQL: ``image_search.tsv``, a stored generated ``to_tsvector('simple', document)`` with
  a GIN index; punctuation becomes spaces first so a file name is split into its words as
  SQLite splits it.

The statements live in :mod:`salon.db.search`, so a later migration that recreates images,
albums or album_images on SQLite (batch mode drops a table's triggers) can install them again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from salon.db import search

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# Expand only (a new table filled by triggers): code at 0011 never reads it, and its writes
# keep it current through the triggers.
oldest_compatible = "0011"


def upgrade() -> None:
    bind = op.get_bind()
    for statement in search.install_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in search.remove_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
