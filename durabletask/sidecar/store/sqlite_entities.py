"""The entity tables of ``SqliteStore``: ``entities`` and ``entity_inbox``.

Each public method is one transaction of the host store (a savepoint inside a
group), so an entity transition, the results it sends to orchestrations and the
orchestrations it starts commit together or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityCommitResult,
    EntityLock,
    EntityMessage,
    EntityQuery,
    EntityRecord,
    EntityRow,
    NewInstance,
    ResponseMessage,
)
from durabletask.sidecar.store.sqlite_schema import from_us, to_us

if TYPE_CHECKING:
    from durabletask.sidecar.store.base import InstanceRecord

_COLUMNS = (
    "e.entity_id, e.state, e.last_modified_at, e.lock_holder, e.lock_execution, e.lock_section, "
    "(SELECT COUNT(*) FROM entity_inbox i WHERE i.entity_id = e.entity_id)"
)
_UPSERT = (
    "INSERT INTO entities (entity_id, state, last_modified_at, lock_holder, lock_execution, "
    "lock_section) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity_id) DO UPDATE SET "
    "state = excluded.state, last_modified_at = excluded.last_modified_at, "
    "lock_holder = excluded.lock_holder, lock_execution = excluded.lock_execution, "
    "lock_section = excluded.lock_section"
)


class SqliteEntityTables:
    """Entity half of ``SqliteStore`` (a mixin; the host provides connection and helpers)."""

    if TYPE_CHECKING:

        @property
        def _db(self) -> sqlite3.Connection: ...

        _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
        get_instance: Callable[[str], InstanceRecord | None]
        _add_row: Callable[[str, pb.HistoryEvent, datetime | None], None]
        _insert: Callable[[InstanceRecord, pb.HistoryEvent, datetime | None], None]
        _delete: Callable[[str], None]

    def append_entity_messages(self, messages: Sequence[EntityMessage]) -> None:
        """See ``EntityStore.append_entity_messages``."""
        if messages:
            with self._tx():
                self._queue_entity_messages(messages)

    def get_entity(self, entity_id: str) -> EntityRecord | None:
        """See ``EntityStore.get_entity``."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM entities e WHERE e.entity_id = ?", (entity_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def load_entity(
        self, entity_id: str, now: datetime
    ) -> tuple[EntityRecord, list[EntityRow]] | None:
        """See ``EntityStore.load_entity``."""
        record = self.get_entity(entity_id)
        if record is None:
            return None
        rows = self._db.execute(
            "SELECT seq, visible_at, source_id, source_execution, event FROM entity_inbox "
            "WHERE entity_id = ? AND (visible_at IS NULL OR visible_at <= ?) ORDER BY seq",
            (entity_id, to_us(now)),
        )
        return record, [
            EntityRow(seq=seq, entity_id=entity_id, visible_at=from_us(visible),
                      source_id=source, source_execution=execution,
                      event=pb.HistoryEvent.FromString(blob))
            for seq, visible, source, execution, blob in rows
        ]

    def commit_entity(self, commit: EntityCommit) -> EntityCommitResult:
        """See ``EntityStore.commit_entity``."""
        entity_id = commit.entity_id
        with self._tx() as db:
            if commit.record is not None:
                db.execute(_UPSERT, _params(commit.record))
            db.executemany(
                "DELETE FROM entity_inbox WHERE seq = ? AND entity_id = ?",
                [(seq, entity_id) for seq in commit.consumed],
            )
            if commit.reset_losses:
                db.execute("UPDATE entities SET lost_workers = 0 WHERE entity_id = ?",
                           (entity_id,))
            self._queue_entity_messages(commit.entity_messages)
            delivered = tuple(r.instance_id for r in commit.responses if self._respond(r))
            created = tuple(
                n.record.instance_id for n in commit.new_instances if self._start_instance(n)
            )
        return EntityCommitResult(delivered_to=delivered, created=created)

    def delete_entity(self, entity_id: str) -> bool:
        """See ``EntityStore.delete_entity``."""
        with self._tx() as db:
            deleted = db.execute(
                "DELETE FROM entities WHERE entity_id = ? AND state IS NULL AND lock_holder IS "
                "NULL AND NOT EXISTS (SELECT 1 FROM entity_inbox WHERE entity_id = ?)",
                (entity_id, entity_id),
            ).rowcount
        return deleted > 0

    def query_entities(self, query: EntityQuery) -> list[EntityRecord]:
        """See ``EntityStore.query_entities``."""
        sql, params = _query_sql(query)
        return [_record(row) for row in self._db.execute(sql, params)]

    def pending_entity_rows(self) -> list[tuple[str, datetime | None]]:
        """See ``EntityStore.pending_entity_rows``."""
        rows = self._db.execute(
            "SELECT entity_id, visible_at FROM entity_inbox GROUP BY entity_id, visible_at "
            "ORDER BY MIN(seq)"
        )
        return [(entity_id, from_us(visible)) for entity_id, visible in rows]

    def record_entity_loss(self, entity_id: str) -> int:
        """See ``EntityStore.record_entity_loss``."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE entities SET lost_workers = lost_workers + 1 WHERE entity_id = ? "
                "RETURNING lost_workers", (entity_id,)
            ).fetchone()
        return int(row[0]) if row else 1

    def _queue_entity_messages(self, messages: Sequence[EntityMessage]) -> None:
        db = self._db
        for message in messages:
            stamp = message.event.timestamp.ToMicroseconds()
            db.execute(
                "INSERT OR IGNORE INTO entities (entity_id, last_modified_at) VALUES (?, ?)",
                (message.target_id, stamp),
            )
            db.execute(
                "INSERT INTO entity_inbox (entity_id, visible_at, source_id, source_execution, "
                "event) VALUES (?, ?, ?, ?, ?)",
                (message.target_id, to_us(message.visible_at), message.source_id,
                 message.source_execution, message.event.SerializeToString()),
            )

    def _respond(self, response: ResponseMessage) -> bool:
        record = self.get_instance(response.instance_id)
        if record is None or record.is_terminal:
            return False
        if response.execution_id and record.execution_id != response.execution_id:
            return False
        self._add_row(response.instance_id, response.event, None)
        return True

    def _start_instance(self, new: NewInstance) -> bool:
        existing = self.get_instance(new.record.instance_id)
        if existing is not None:
            if not existing.is_terminal:
                return False
            self._delete(new.record.instance_id)  # a finished instance is replaced
        self._insert(new.record, new.start_event, new.visible_at)
        return True


def _params(record: EntityRecord) -> tuple[Any, ...]:
    lock = record.lock
    return (
        record.entity_id, record.state, to_us(record.last_modified_at),
        None if lock is None else lock.holder_id,
        None if lock is None else lock.holder_execution,
        None if lock is None else lock.section_id,
    )


def _record(row: Sequence[Any]) -> EntityRecord:
    entity_id, state, modified, holder, execution, section, backlog = row
    modified_at = from_us(modified)
    assert modified_at is not None  # NOT NULL column
    lock = None
    if holder is not None:
        lock = EntityLock(holder_id=holder, holder_execution=execution, section_id=section or "")
    return EntityRecord(entity_id=entity_id, state=state, last_modified_at=modified_at,
                        lock=lock, backlog=int(backlog))


def _query_sql(query: EntityQuery) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for clause, value in _clauses(query):
        where.append(clause)
        if value is not None:
            params.extend(value if isinstance(value, tuple) else (value,))
    sql = f"SELECT {_COLUMNS} FROM entities e"  # noqa: S608 - clauses are ours
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY e.entity_id"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return sql, params


def _clauses(query: EntityQuery) -> Iterator[tuple[str, Any]]:
    if query.after is not None:
        yield "e.entity_id > ?", query.after
    if query.id_prefix:
        yield "substr(e.entity_id, 1, ?) = ?", (len(query.id_prefix), query.id_prefix)
    if not query.include_transient:
        yield "e.state IS NOT NULL", None
    if query.modified_from is not None:
        yield "e.last_modified_at >= ?", to_us(query.modified_from)
    if query.modified_to is not None:
        yield "e.last_modified_at < ?", to_us(query.modified_to)
