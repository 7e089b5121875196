"""The entity tables of ``MemoryStore``: records and inboxes in dicts."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import from_timestamp
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityCommitResult,
    EntityMessage,
    EntityQuery,
    EntityRecord,
    EntityRow,
    NewInstance,
    ResponseMessage,
)

if TYPE_CHECKING:
    from durabletask.sidecar.store.base import InstanceRecord


class MemoryEntityTables:
    """Entity half of ``MemoryStore`` (a mixin; the host provides the instance tables)."""

    if TYPE_CHECKING:
        _instances: dict[str, InstanceRecord]
        _add_row: Callable[[str, pb.HistoryEvent, datetime | None], None]
        _insert: Callable[[InstanceRecord, pb.HistoryEvent, datetime | None], None]
        _delete: Callable[[str], None]

    def _init_entities(self) -> None:
        self._entities: dict[str, EntityRecord] = {}
        # Per entity, insertion-ordered by seq, so iteration is FIFO.
        self._entity_rows: dict[str, dict[int, EntityRow]] = {}
        self._entity_losses: dict[str, int] = {}
        self._entity_seq = itertools.count(1)

    def append_entity_messages(self, messages: Sequence[EntityMessage]) -> None:
        """See ``EntityStore.append_entity_messages``."""
        for message in messages:
            self._queue_entity_message(message)

    def get_entity(self, entity_id: str) -> EntityRecord | None:
        """See ``EntityStore.get_entity``."""
        record = self._entities.get(entity_id)
        if record is None:
            return None
        return dataclasses.replace(record, backlog=len(self._entity_rows.get(entity_id, ())))

    def load_entity(
        self, entity_id: str, now: datetime
    ) -> tuple[EntityRecord, list[EntityRow]] | None:
        """See ``EntityStore.load_entity``."""
        record = self.get_entity(entity_id)
        if record is None:
            return None
        rows = [
            row for row in self._entity_rows.get(entity_id, {}).values()
            if row.visible_at is None or row.visible_at <= now
        ]
        return record, rows

    def commit_entity(self, commit: EntityCommit) -> EntityCommitResult:
        """See ``EntityStore.commit_entity``."""
        entity_id = commit.entity_id
        if commit.record is not None:
            self._entities[entity_id] = dataclasses.replace(commit.record, backlog=0)
        rows = self._entity_rows.get(entity_id, {})
        for seq in commit.consumed:
            rows.pop(seq, None)
        if commit.reset_losses:
            self._entity_losses.pop(entity_id, None)
        self.append_entity_messages(commit.entity_messages)
        delivered = tuple(r.instance_id for r in commit.responses if self._respond(r))
        created = tuple(
            n.record.instance_id for n in commit.new_instances if self._start_instance(n)
        )
        return EntityCommitResult(delivered_to=delivered, created=created)

    def delete_entity(self, entity_id: str) -> bool:
        """See ``EntityStore.delete_entity``."""
        record = self._entities.get(entity_id)
        if record is None or record.state is not None or record.lock is not None:
            return False
        if self._entity_rows.get(entity_id):
            return False
        del self._entities[entity_id]
        self._entity_rows.pop(entity_id, None)
        self._entity_losses.pop(entity_id, None)
        return True

    def query_entities(self, query: EntityQuery) -> list[EntityRecord]:
        """See ``EntityStore.query_entities``."""
        found = [
            record for entity_id in sorted(self._entities)
            if _matches(record := self._entities[entity_id], query)
        ]
        if query.limit is not None:
            found = found[: query.limit]
        return [
            dataclasses.replace(r, backlog=len(self._entity_rows.get(r.entity_id, ())))
            for r in found
        ]

    def pending_entity_rows(self) -> list[tuple[str, datetime | None]]:
        """See ``EntityStore.pending_entity_rows``."""
        result: list[tuple[str, datetime | None]] = []
        for entity_id, rows in self._entity_rows.items():
            result.extend(
                (entity_id, when) for when in dict.fromkeys(r.visible_at for r in rows.values())
            )
        return result

    def record_entity_loss(self, entity_id: str) -> int:
        """See ``EntityStore.record_entity_loss``."""
        count = self._entity_losses.get(entity_id, 0) + 1
        self._entity_losses[entity_id] = count
        return count

    def _clear_entities(self) -> None:
        self._entities.clear()
        self._entity_rows.clear()
        self._entity_losses.clear()

    def _queue_entity_message(self, message: EntityMessage) -> None:
        target = message.target_id
        if target not in self._entities:
            self._entities[target] = EntityRecord(
                entity_id=target, last_modified_at=from_timestamp(message.event.timestamp)
            )
        seq = next(self._entity_seq)
        self._entity_rows.setdefault(target, {})[seq] = EntityRow(
            seq=seq, entity_id=target, event=message.event, visible_at=message.visible_at,
            source_id=message.source_id, source_execution=message.source_execution,
        )

    def _respond(self, response: ResponseMessage) -> bool:
        record = self._instances.get(response.instance_id)
        if record is None or record.is_terminal:
            return False
        if response.execution_id and record.execution_id != response.execution_id:
            return False
        self._add_row(response.instance_id, response.event, None)
        return True

    def _start_instance(self, new: NewInstance) -> bool:
        existing = self._instances.get(new.record.instance_id)
        if existing is not None:
            if not existing.is_terminal:
                return False
            self._delete(new.record.instance_id)  # a finished instance is replaced
        self._insert(new.record, new.start_event, new.visible_at)
        return True


def _matches(record: EntityRecord, query: EntityQuery) -> bool:
    if query.after is not None and record.entity_id <= query.after:
        return False
    if query.id_prefix and not record.entity_id.startswith(query.id_prefix):
        return False
    if not query.include_transient and record.state is None:
        return False
    if query.modified_from is not None and record.last_modified_at < query.modified_from:
        return False
    return query.modified_to is None or record.last_modified_at < query.modified_to
