"""Where the database's schema stands against this release's migrations.

Expand/contract (README, "Upgrades and rollbacks"): every migration declares
``oldest_compatible``, the oldest code revision that still runs on the schema it makes. After
each upgrade :func:`record_compat` writes the schema's revision and that floor to
``schema_compat``. Code older than the schema cannot know the newer migrations, but it can read
that row: when the floor is a revision it knows (at or before its own head), it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, inspect, select, text
from sqlalchemy.engine import Connection

from salon.db.models import SchemaCompat
from salon.errors import ConfigurationError

Status = Literal["current", "behind", "newer", "incompatible"]


@dataclass(frozen=True, slots=True)
class SchemaState:
    revision: str | None  # the database's; None for an empty database
    head: str  # this release's newest migration
    status: Status
    oldest_code: str | None = None  # what the database says runs on it (newer schemas)

    @property
    def usable(self) -> bool:
        """This code may serve on this schema: at its head, or newer and declared compatible."""
        return self.status in ("current", "newer")

    def describe(self) -> str:
        if self.status == "current":
            return f"at revision {self.head}"
        if self.status == "behind":
            return f"at revision {self.revision or '(empty)'}, behind this release's {self.head}"
        if self.status == "newer":
            return (
                f"at revision {self.revision}, newer than this release's {self.head} and "
                f"declared compatible with code from {self.oldest_code} on"
            )
        floor = self.oldest_code or "(not recorded)"
        return (
            f"at revision {self.revision}, newer than this release's {self.head} and not "
            f"compatible with it (runs code from {floor} on)"
        )


def oldest_compatible(script: ScriptDirectory, revision: str) -> str:
    """The oldest code revision that runs on a schema at ``revision``: the newest of the floors
    declared by the migrations up to it (a migration without a declaration is a contract step:
    its floor is itself)."""
    chain = [r.revision for r in script.iterate_revisions(revision, "base")]  # newest first
    best = len(chain) - 1
    for position, rev in enumerate(chain):
        module = script.get_revision(rev).module
        declared = getattr(module, "oldest_compatible", rev)
        if declared not in chain[position:]:
            raise ConfigurationError(
                f"migration {rev} declares oldest_compatible={declared!r}, "
                "which is not itself or one of its ancestors"
            )
        best = min(best, chain.index(declared))
    return chain[best]


def classify(script: ScriptDirectory, revision: str | None, oldest_code: str | None) -> SchemaState:
    head = script.get_current_head()
    assert head is not None, "the migrations have no head"
    ours = {r.revision for r in script.walk_revisions()}
    if revision == head:
        return SchemaState(revision, head, "current")
    if revision is None or revision in ours:
        return SchemaState(revision, head, "behind")
    lineage = [r.revision for r in script.iterate_revisions(head, "base")]
    status: Status = "newer" if oldest_code in lineage else "incompatible"
    return SchemaState(revision, head, status, oldest_code)


def read_state(connection: Connection, script: ScriptDirectory) -> SchemaState:
    """Read the database's revision and its recorded compatibility (a sync connection)."""
    tables = set(inspect(connection).get_table_names())
    revision: str | None = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    oldest_code: str | None = None
    if "schema_compat" in tables and revision is not None:
        row = connection.execute(
            select(SchemaCompat.oldest_code).where(SchemaCompat.revision == revision)
        ).scalar()
        oldest_code = None if row is None else str(row)
    return classify(script, revision, oldest_code)


def record_compat(connection: Connection, script: ScriptDirectory) -> None:
    """After migrating: store the schema's revision and the oldest code that runs on it."""
    if "schema_compat" not in inspect(connection).get_table_names():
        return  # below the migration that makes it
    revision: Any = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    connection.execute(delete(SchemaCompat))
    if revision is not None:
        floor = oldest_compatible(script, str(revision))
        connection.execute(insert(SchemaCompat).values(revision=revision, oldest_code=floor))
