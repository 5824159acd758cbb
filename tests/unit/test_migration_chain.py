"""The migrations form one line: a single head, and each declares the oldest code revision that
runs on its schema (expand/contract, README "Upgrades and rollbacks"). Two branches landing
migrations with the same parent make two heads, and `salon serve` could not start."""

from __future__ import annotations

from salon.db.migrate import scripts


def test_one_head_and_every_migration_declares_its_compatibility() -> None:
    script = scripts()
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    revisions = list(script.walk_revisions())
    undeclared = [r.revision for r in revisions if not hasattr(r.module, "oldest_compatible")]
    assert undeclared == [], f"migrations without oldest_compatible: {undeclared}"
