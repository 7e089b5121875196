"""The SQLite store's schema, versioned with ``PRAGMA user_version``, and its migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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

# Entities: one row per entity (state, lock), and their inboxes. AUTOINCREMENT: an
# inbox sequence number is never reused, even after the newest row was deleted.
_SCHEMA_V2 = (
    """
    CREATE TABLE entities (
        entity_id        TEXT PRIMARY KEY,
        state            TEXT,
        last_modified_at INTEGER NOT NULL,
        lock_holder      TEXT,
        lock_execution   TEXT,
        lock_section     TEXT,
        lost_workers     INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE entity_inbox (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        entity_id        TEXT NOT NULL,
        visible_at       INTEGER,
        source_id        TEXT,
        source_execution TEXT,
        event            BLOB NOT NULL
    )
    """,
    "CREATE INDEX entity_inbox_by_entity ON entity_inbox (entity_id, seq)",
)

TABLES: frozenset[str] = frozenset(
    {"instances", "history", "inbox", "activities", "meta", "entities", "entity_inbox"}
)
"""Tables of the current schema."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def to_us(value: datetime | None) -> int | None:
    """Store a datetime as microseconds since the epoch (naive values are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // _MICROSECOND


def from_us(value: int | None) -> datetime | None:
    """Read a stored microsecond timestamp back as an aware UTC datetime."""
    return None if value is None else _EPOCH + value * _MICROSECOND


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
    Migration(2, "add entities and entity_inbox", _run_all(_SCHEMA_V2)),
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
