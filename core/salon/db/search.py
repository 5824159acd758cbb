# ruff: noqa: S608 - DDL built from this module's own constants; no value from outside reaches it.
"""The image search index's schema: tables and triggers, per dialect (migration 0012).

Each image has one ``image_search`` row whose ``document`` is the text a search matches.
Triggers rewrite it whenever the image, one of its albums, or its album membership changes,
inside the writing transaction: no code path (ORM, Core bulk statements, raw SQL, an older
release) can leave the index behind the rows.

SQLite drops a table's triggers when the table is recreated (Alembic's batch mode does that
for most column changes): a migration that recreates ``images``, ``albums`` or
``album_images`` must run :func:`install_statements` again (``tests/integration/
test_api_search.py`` checks the triggers exist at head). These are not ORM models: Alembic's
comparison leaves them out (:func:`is_index_table`).
"""

from __future__ import annotations

TABLE = "image_search"
FTS_TABLE = "image_search_fts"
# The keys of ``images.meta`` whose text is searchable: a description (edited or from the
# file), the original file name, the camera and lens, and what a source (APOD) says about it.
META_KEYS = (
    "description",
    "filename",
    "camera_make",
    "camera_model",
    "lens_make",
    "lens_model",
    "source",
    "title",
    "explanation",
    "copyright",
)
_KEYS_SQL = ", ".join(f"'{key}'" for key in META_KEYS)

# ---- SQLite ---------------------------------------------------------------------------------


def _sqlite_document(image_id: str) -> str:
    """The document of the image whose id is the SQL expression ``image_id``."""
    return f"""(
        SELECT trim(
            coalesce(i.title, '') || ' ' ||
            coalesce((
                SELECT group_concat(j.value, ' ')
                FROM json_each(CASE WHEN json_valid(i.meta) THEN i.meta ELSE '{{}}' END) AS j
                WHERE j.key IN ({_KEYS_SQL}) AND j.type IN ('text', 'integer', 'real')
            ), '') || ' ' ||
            coalesce((
                SELECT group_concat(a.name, ' ')
                FROM album_images AS ai JOIN albums AS a ON a.id = ai.album_id
                WHERE ai.image_id = i.id
            ), '')
        )
        FROM images AS i WHERE i.id = {image_id}
    )"""


def _sqlite_refresh(image_id: str) -> str:
    # An upsert: it also heals an image without a row (none after the backfill, but a missing
    # row would hide the image from every search for good). "WHERE true" is SQLite's way to
    # tell an upsert's ON CONFLICT from a join's.
    return f"""
        INSERT INTO image_search (image_id, document)
            SELECT {image_id}, coalesce({_sqlite_document(image_id)}, '')
            WHERE EXISTS (SELECT 1 FROM images WHERE id = {image_id})
            ON CONFLICT (image_id) DO UPDATE SET document = excluded.document;"""


SQLITE_TRIGGERS = {
    # The FTS table follows image_search (the external-content pattern of the FTS5 manual).
    "image_search_fts_ai": f"""AFTER INSERT ON image_search BEGIN
        INSERT INTO {FTS_TABLE} (rowid, document) VALUES (new.id, new.document);
    END""",
    "image_search_fts_ad": f"""AFTER DELETE ON image_search BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, document)
            VALUES ('delete', old.id, old.document);
    END""",
    "image_search_fts_au": f"""AFTER UPDATE OF document ON image_search BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, document)
            VALUES ('delete', old.id, old.document);
        INSERT INTO {FTS_TABLE} (rowid, document) VALUES (new.id, new.document);
    END""",
    "image_search_images_ai": f"""AFTER INSERT ON images BEGIN
        {_sqlite_refresh("new.id")}
    END""",
    "image_search_images_au": f"""AFTER UPDATE OF title, meta ON images BEGIN
        {_sqlite_refresh("new.id")}
    END""",
    "image_search_images_ad": """AFTER DELETE ON images BEGIN
        DELETE FROM image_search WHERE image_id = old.id;
    END""",
    "image_search_album_images_ai": f"""AFTER INSERT ON album_images BEGIN
        {_sqlite_refresh("new.image_id")}
    END""",
    "image_search_album_images_ad": f"""AFTER DELETE ON album_images BEGIN
        {_sqlite_refresh("old.image_id")}
    END""",
    "image_search_albums_au": f"""AFTER UPDATE OF name ON albums BEGIN
        UPDATE image_search SET document = coalesce({_sqlite_document("image_search.image_id")}, '')
            WHERE image_id IN (SELECT image_id FROM album_images WHERE album_id = new.id);
    END""",
    # With foreign keys on, the album's rows in album_images go first (their triggers run);
    # without, this drops the album's name from its images.
    "image_search_albums_ad": f"""AFTER DELETE ON albums BEGIN
        UPDATE image_search SET document = coalesce({_sqlite_document("image_search.image_id")}, '')
            WHERE image_id IN (SELECT image_id FROM album_images WHERE album_id = old.id);
    END""",
}


def _sqlite_install() -> list[str]:
    statements = [
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            id INTEGER PRIMARY KEY,
            image_id BINARY(16) NOT NULL UNIQUE,
            document TEXT NOT NULL DEFAULT ''
        )""",
        f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
            document, content='{TABLE}', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )""",
    ]
    for name, body in SQLITE_TRIGGERS.items():
        statements += [f"DROP TRIGGER IF EXISTS {name}", f"CREATE TRIGGER {name} {body}"]
    # Existing images (the insert trigger covers new ones), then the FTS index from them.
    statements += [
        f"""INSERT INTO {TABLE} (image_id, document)
            SELECT id, '' FROM images WHERE id NOT IN (SELECT image_id FROM {TABLE})""",
        f"UPDATE {TABLE} SET document = coalesce({_sqlite_document(f'{TABLE}.image_id')}, '')",
        f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')",
    ]
    return statements


def _sqlite_remove() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + [
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
        f"DROP TABLE IF EXISTS {TABLE}",
    ]


# ---- PostgreSQL -----------------------------------------------------------------------------

PG_FUNCTIONS = {
    "salon_image_search_document": f"""
CREATE OR REPLACE FUNCTION salon_image_search_document(target uuid) RETURNS text AS $$
    SELECT trim(
        coalesce(i.title, '') || ' ' ||
        coalesce((
            SELECT string_agg(j.value, ' ')
            FROM jsonb_each_text(
                CASE WHEN jsonb_typeof(i.meta::jsonb) = 'object' THEN i.meta::jsonb
                ELSE '{{}}'::jsonb END
            ) AS j
            WHERE j.key IN ({_KEYS_SQL})
              AND jsonb_typeof(i.meta::jsonb -> j.key) IN ('string', 'number')
        ), '') || ' ' ||
        coalesce((
            SELECT string_agg(a.name, ' ')
            FROM album_images AS ai JOIN albums AS a ON a.id = ai.album_id
            WHERE ai.image_id = i.id
        ), '')
    )
    FROM images AS i WHERE i.id = target
$$ LANGUAGE sql STABLE""",
    "salon_image_search_refresh": """
CREATE OR REPLACE FUNCTION salon_image_search_refresh(target uuid) RETURNS void AS $$
    INSERT INTO image_search (image_id, document)
    SELECT target, coalesce(salon_image_search_document(target), '')
    WHERE EXISTS (SELECT 1 FROM images WHERE id = target)
    ON CONFLICT (image_id) DO UPDATE SET document = excluded.document
$$ LANGUAGE sql VOLATILE""",
    "salon_image_search_trigger": """
CREATE OR REPLACE FUNCTION salon_image_search_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'images' THEN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM image_search WHERE image_id = OLD.id;
        ELSIF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
              OR NEW.meta::jsonb IS DISTINCT FROM OLD.meta::jsonb THEN
            PERFORM salon_image_search_refresh(NEW.id);
        END IF;
    ELSIF TG_TABLE_NAME = 'album_images' THEN
        IF TG_OP <> 'INSERT' THEN PERFORM salon_image_search_refresh(OLD.image_id); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM salon_image_search_refresh(NEW.image_id); END IF;
    ELSIF TG_TABLE_NAME = 'albums' THEN
        IF TG_OP = 'DELETE' OR NEW.name IS DISTINCT FROM OLD.name THEN
            PERFORM salon_image_search_refresh(ai.image_id)
            FROM album_images AS ai WHERE ai.album_id = OLD.id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
}
PG_TRIGGERS = {
    "images": "AFTER INSERT OR DELETE OR UPDATE OF title, meta",
    "album_images": "AFTER INSERT OR UPDATE OR DELETE",
    "albums": "AFTER DELETE OR UPDATE OF name",
}


def _pg_install() -> list[str]:
    statements = [
        # Punctuation becomes spaces before parsing: PostgreSQL's parser would otherwise keep
        # "IMG_2041.jpg" as one file-name token that a search for "2041" cannot match.
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            image_id uuid PRIMARY KEY,
            document text NOT NULL DEFAULT '',
            tsv tsvector GENERATED ALWAYS AS (
                to_tsvector('simple'::regconfig, regexp_replace(document, '[[:punct:]]+', ' ', 'g'))
            ) STORED
        )""",
        f"CREATE INDEX IF NOT EXISTS ix_image_search_tsv ON {TABLE} USING gin (tsv)",
        *PG_FUNCTIONS.values(),
    ]
    for table, events in PG_TRIGGERS.items():
        statements += [
            f"DROP TRIGGER IF EXISTS salon_image_search ON {table}",
            f"CREATE TRIGGER salon_image_search {events} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION salon_image_search_trigger()",
        ]
    statements.append(
        f"""INSERT INTO {TABLE} (image_id, document)
            SELECT id, coalesce(salon_image_search_document(id), '') FROM images
            ON CONFLICT (image_id) DO UPDATE SET document = excluded.document"""
    )
    return statements


def _pg_remove() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS salon_image_search ON {table}" for table in PG_TRIGGERS]
    statements += [f"DROP FUNCTION IF EXISTS {name}" for name in reversed(PG_FUNCTIONS)]
    statements.append(f"DROP TABLE IF EXISTS {TABLE}")
    return statements


def install_statements(dialect: str) -> list[str]:
    """The statements that create (or re-create) the index, its triggers, and fill it."""
    if dialect == "sqlite":
        return _sqlite_install()
    if dialect == "postgresql":
        return _pg_install()
    raise NotImplementedError(f"no image search index for {dialect}")


def remove_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return _sqlite_remove()
    if dialect == "postgresql":
        return _pg_remove()
    raise NotImplementedError(f"no image search index for {dialect}")


def is_index_table(name: str) -> bool:
    """The search index's own tables (and SQLite's FTS shadow tables): not ORM models, so
    Alembic's comparison leaves them out (``salon.db.migrate.include_object``)."""
    return name.startswith(TABLE)
