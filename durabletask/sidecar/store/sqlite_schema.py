"""The SQLite store's schema, versioned with ``PRAGMA user_version``, and its migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Timestamps are INTEGER microseconds since the Unix epoch (UTC): exact round trips,
# cheap comparisons and index-friendly ordering. Events and failure details are
# serialized protobuf messages; tags are JSON objects.
_SCHEMA_V1 = (
    """
    CREATE TABLE instances (
        instance_id        TEXT PRIMARY KEY,
        execution_id       TEXT NOT NULL,
        name               TEXT NOT NULL,
        version            TEXT,
        status             INTEGER NOT NULL,
        input              TEXT,
        output             TEXT,
        custom_status      TEXT,
        failure            BLOB,
        tags               TEXT NOT NULL DEFAULT '{}',
        parent_instance_id TEXT,
        parent_task_id     INTEGER,
        created_at         INTEGER NOT NULL,
        last_updated_at    INTEGER NOT NULL,
        completed_at       INTEGER,
        scheduled_start_at INTEGER,
        trace_context      BLOB,
        history_length     INTEGER NOT NULL DEFAULT 0,
        lost_workers       INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX instances_by_created ON instances (created_at, instance_id)",
    """
    CREATE INDEX instances_by_completed ON instances (completed_at, instance_id)
        WHERE completed_at IS NOT NULL
    """,
    """
    CREATE TABLE history (
        instance_id TEXT NOT NULL,
        position    INTEGER NOT NULL,
        event       BLOB NOT NULL,
        PRIMARY KEY (instance_id, position)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE inbox (
        seq         INTEGER PRIMARY KEY,
        instance_id TEXT NOT NULL,
        visible_at  INTEGER,
        event       BLOB NOT NULL
    )
    """,
    "CREATE INDEX inbox_by_instance ON inbox (instance_id, seq)",
    """
    CREATE TABLE activities (
        seq          INTEGER PRIMARY KEY,
        instance_id  TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        request      BLOB NOT NULL,
        lost_workers INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX activities_by_instance ON activities (instance_id)",
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    "INSERT INTO meta (key, value) VALUES ('incarnation', '0')",
)

TABLES: frozenset[str] = frozenset({"instances", "history", "inbox", "activities", "meta"})
"""Tables of the current schema."""


class SchemaError(Exception):
    """The database cannot be brought to the schema this version of the store uses."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step that moves a database from ``version - 1`` to ``version``."""

    version: int
    """The schema version after this step."""
    description: str
    """What the step changes (for logs and errors)."""
    apply: Callable[[sqlite3.Connection], None]
    """Runs the step's statements inside the migration transaction."""


def _run_all(statements: Sequence[str]) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create instances, history, inbox, activities and meta", _run_all(_SCHEMA_V1)),
)
"""Every migration in order; the last one's version is the current schema version."""

CURRENT_VERSION = MIGRATIONS[-1].version
"""The schema version this store reads and writes."""


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the database's ``user_version`` (0 for a new, empty file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to the last of ``migrations`` in one transaction.

    Each step's changes and the new ``user_version`` commit together, so a crash
    mid-migration leaves the file at its old version, ready to migrate again.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        migrations: Steps in version order, starting at version 1.

    Returns:
        The version the database was at before migrating.

    Raises:
        SchemaError: The file was written by a newer version of the store, or it is a
            version-0 file that already holds tables (not a durabletask database).
    """
    target = migrations[-1].version
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)
        if found > target:
            raise SchemaError(
                f"the database has schema version {found}, newer than this durabletask's "
                f"version {target}; upgrade durabletask or use another database file"
            )
        if found == 0:
            _require_empty(conn)
        for step in migrations:
            if step.version > found:
                step.apply(conn)
        # PRAGMA takes no parameters; target is an int from our own table.
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _require_empty(conn: sqlite3.Connection) -> None:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    if names:
        raise SchemaError(
            f"the file is an SQLite database with other tables ({', '.join(sorted(names))}) "
            f"and no durabletask schema version; point --db at a new or durabletask file"
        )
