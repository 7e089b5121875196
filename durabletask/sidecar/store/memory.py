"""``MemoryStore``: the in-memory ``Store`` used by tests and ``durabletask.testing``."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.base import (
    ActivityTask,
    CommitResult,
    Episode,
    EpisodeCommit,
    InboxRow,
    InstanceQuery,
    InstanceRecord,
    NewChild,
    ascii_lower,
)
from durabletask.sidecar.store.memory_entities import MemoryEntityTables


class MemoryStore(MemoryEntityTables):
    """A ``Store`` kept in Python dicts; nothing survives the process.

    Not thread-safe: like every store it is driven from the sidecar's loop.
    """

    groups_commits = False
    """Nothing to flush, so grouping would only add latency."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._seq = itertools.count(1)
        self._instances: dict[str, InstanceRecord] = {}
        self._history: dict[str, list[pb.HistoryEvent]] = {}
        # Per instance, insertion-ordered by seq, so iteration is FIFO.
        self._inbox: dict[str, dict[int, InboxRow]] = {}
        self._activities: dict[int, ActivityTask] = {}
        self._orchestration_losses: dict[str, int] = {}
        self._activity_losses: dict[int, int] = {}
        self._init_entities()

    def group(self) -> contextlib.AbstractContextManager[None]:
        """See ``Store.group``: every call is already final, so this is a no-op."""
        return contextlib.nullcontext()

    def create_instance(
        self,
        record: InstanceRecord,
        start_event: pb.HistoryEvent,
        *,
        visible_at: datetime | None = None,
        replaceable_statuses: frozenset[int] = frozenset(),
    ) -> bool:
        """See ``Store.create_instance``."""
        existing = self._instances.get(record.instance_id)
        if existing is not None:
            if existing.status not in replaceable_statuses:
                return False
            self._delete(record.instance_id)
        self._insert(record, start_event, visible_at)
        return True

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """See ``Store.get_instance``."""
        return self._instances.get(instance_id)

    def get_history(self, instance_id: str) -> Sequence[pb.HistoryEvent] | None:
        """See ``Store.get_history``."""
        if instance_id not in self._instances:
            return None
        return self._history.get(instance_id, [])

    def append_inbox(
        self, instance_id: str, event: pb.HistoryEvent, *, visible_at: datetime | None = None
    ) -> bool:
        """See ``Store.append_inbox``."""
        record = self._instances.get(instance_id)
        if record is not None and record.is_terminal:
            return False
        self._add_row(instance_id, event, visible_at)
        return True

    def load_episode(self, instance_id: str, now: datetime) -> Episode | None:
        """See ``Store.load_episode``."""
        record = self._instances.get(instance_id)
        rows = self._inbox.get(instance_id)
        if record is None or not rows:
            return None
        visible = [r for r in rows.values() if r.visible_at is None or r.visible_at <= now]
        if not visible:
            return None
        return Episode(record=record, history=self._history.get(instance_id, []), inbox=visible)

    def commit_episode(self, commit: EpisodeCommit) -> CommitResult | None:
        """See ``Store.commit_episode``."""
        iid = commit.instance_id
        current = self._instances.get(iid)
        if current is None or current.execution_id != commit.expected_execution_id:
            return None
        if commit.history_replace is not None:
            self._history[iid] = list(commit.history_replace)
        else:
            self._history.setdefault(iid, []).extend(commit.history_append)
        self._instances[iid] = commit.record
        rows = self._inbox.get(iid, {})
        for seq in commit.consumed:
            rows.pop(seq, None)
        self._orchestration_losses.pop(iid, None)
        tasks = [self._add_activity(iid, commit.record.execution_id, r) for r in commit.activities]
        for child in commit.children:
            self._create_child(iid, child)
        for msg in commit.messages:
            self.append_inbox(msg.target_id, msg.event, visible_at=msg.visible_at)
        self.append_entity_messages(commit.entity_messages)
        if commit.record.is_terminal:
            self._inbox.pop(iid, None)
        return CommitResult(activity_tasks=tasks)

    def commit_activity_result(self, task_seq: int, event: pb.HistoryEvent) -> bool:
        """See ``Store.commit_activity_result``."""
        task = self._activities.pop(task_seq, None)
        self._activity_losses.pop(task_seq, None)
        if task is None:
            return False
        record = self._instances.get(task.instance_id)
        if record is None or record.is_terminal or record.execution_id != task.execution_id:
            return False
        self._add_row(task.instance_id, event, None)
        return True

    def drop_activity_task(self, task_seq: int) -> None:
        """See ``Store.drop_activity_task``."""
        self._activities.pop(task_seq, None)
        self._activity_losses.pop(task_seq, None)

    def pending_activity_tasks(self) -> list[ActivityTask]:
        """See ``Store.pending_activity_tasks``."""
        return sorted(self._activities.values(), key=lambda t: t.seq)

    def pending_inbox(self) -> list[tuple[str, datetime | None]]:
        """See ``Store.pending_inbox``."""
        result: list[tuple[str, datetime | None]] = []
        for iid, rows in self._inbox.items():
            result.extend((iid, t) for t in dict.fromkeys(r.visible_at for r in rows.values()))
        return result

    def record_orchestration_loss(self, instance_id: str) -> int:
        """See ``Store.record_orchestration_loss``."""
        count = self._orchestration_losses.get(instance_id, 0) + 1
        self._orchestration_losses[instance_id] = count
        return count

    def record_activity_loss(self, task_seq: int) -> int:
        """See ``Store.record_activity_loss``."""
        count = self._activity_losses.get(task_seq, 0) + 1
        self._activity_losses[task_seq] = count
        return count

    def rewind_instance(
        self, instance_id: str, event: pb.HistoryEvent, now: datetime
    ) -> InstanceRecord | None:
        """See ``Store.rewind_instance``."""
        record = self._instances.get(instance_id)
        if record is None or record.status != pb.ORCHESTRATION_STATUS_FAILED:
            return None
        record = dataclasses.replace(
            record,
            status=pb.ORCHESTRATION_STATUS_RUNNING,
            output=None,
            failure=None,
            completed_at=None,
            last_updated_at=now,
        )
        self._instances[instance_id] = record
        self._add_row(instance_id, event, None)
        return record

    def purge_instance(self, instance_id: str) -> bool:
        """See ``Store.purge_instance``."""
        record = self._instances.get(instance_id)
        if record is None or not record.is_terminal:
            return False
        self._delete(instance_id)
        return True

    def query_instances(self, query: InstanceQuery) -> list[InstanceRecord]:
        """See ``Store.query_instances``."""
        rows = [r for r in self._instances.values() if _matches(r, query)]
        if query.order_by == "completed":
            keyed = [((r.completed_at, r.instance_id), r) for r in rows if r.completed_at]
        else:
            keyed = [((r.created_at, r.instance_id), r) for r in rows]
        keyed.sort(key=lambda kr: kr[0], reverse=query.descending)
        after = query.after
        result = [
            r for k, r in keyed
            if after is None or (k < after if query.descending else k > after)
        ]
        return result if query.limit is None else result[: query.limit]

    def count_by_status(self, query: InstanceQuery) -> dict[int, int]:
        """See ``Store.count_by_status``."""
        counts: dict[int, int] = {}
        for r in self._instances.values():
            if _matches(r, query) and (query.order_by != "completed" or r.completed_at):
                counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def clear(self) -> None:
        """See ``Store.clear``."""
        self._instances.clear()
        self._history.clear()
        self._inbox.clear()
        self._activities.clear()
        self._orchestration_losses.clear()
        self._activity_losses.clear()
        self._clear_entities()

    def close(self) -> None:
        """See ``Store.close``; nothing to release."""

    def _insert(
        self, record: InstanceRecord, start_event: pb.HistoryEvent, visible_at: datetime | None
    ) -> None:
        self._instances[record.instance_id] = record
        self._history[record.instance_id] = []
        self._add_row(record.instance_id, start_event, visible_at)

    def _create_child(self, parent_id: str, child: NewChild) -> None:
        existing = self._instances.get(child.record.instance_id)
        if existing is not None and not existing.is_terminal:
            self._add_row(parent_id, child.failed_event, None)
            return
        if existing is not None:
            self._delete(child.record.instance_id)
        self._insert(child.record, child.start_event, None)

    def count_orphan_events(self) -> int:
        """See ``Store.count_orphan_events``."""
        return sum(len(rows) for iid, rows in self._inbox.items() if iid not in self._instances)

    def orphan_events(self, limit: int | None = None) -> list[InboxRow]:
        """See ``Store.orphan_events``."""
        rows = sorted(
            (row for iid, rows in self._inbox.items() if iid not in self._instances
             for row in rows.values()),
            key=lambda row: row.seq,
        )
        return rows if limit is None else rows[:limit]

    def delete_orphan_events(self, seqs: Iterable[int]) -> int:
        """See ``Store.delete_orphan_events``."""
        wanted = set(seqs)
        deleted = 0
        for iid in [iid for iid in self._inbox if iid not in self._instances]:
            rows = self._inbox[iid]
            for seq in wanted.intersection(rows):
                del rows[seq]
                deleted += 1
            if not rows:
                del self._inbox[iid]
        return deleted

    def _delete(self, instance_id: str) -> None:
        self._instances.pop(instance_id, None)
        self._history.pop(instance_id, None)
        self._inbox.pop(instance_id, None)
        self._orchestration_losses.pop(instance_id, None)
        for seq in [s for s, t in self._activities.items() if t.instance_id == instance_id]:
            self.drop_activity_task(seq)

    def _add_row(
        self, instance_id: str, event: pb.HistoryEvent, visible_at: datetime | None
    ) -> None:
        seq = next(self._seq)
        row = InboxRow(seq=seq, instance_id=instance_id, event=event, visible_at=visible_at)
        self._inbox.setdefault(instance_id, {})[seq] = row

    def _add_activity(
        self, instance_id: str, execution_id: str, request: pb.ActivityRequest
    ) -> ActivityTask:
        seq = next(self._seq)
        task = ActivityTask(
            seq=seq, instance_id=instance_id, execution_id=execution_id, request=request
        )
        self._activities[seq] = task
        return task


def _matches(record: InstanceRecord, query: InstanceQuery) -> bool:
    if query.statuses is not None and record.status not in query.statuses:
        return False
    if query.id_prefix and not record.instance_id.startswith(query.id_prefix):
        return False
    if query.name is not None and record.name != query.name:
        return False
    if query.search:
        needle = ascii_lower(query.search)
        if needle not in ascii_lower(record.instance_id) and needle not in ascii_lower(
            record.name
        ):
            return False
    if query.created_from and record.created_at < query.created_from:
        return False
    if query.created_to and record.created_at > query.created_to:
        return False
    if query.completed_from or query.completed_to:
        done = record.completed_at
        if done is None:
            return False
        if query.completed_from and done < query.completed_from:
            return False
        if query.completed_to and done > query.completed_to:
            return False
    return True
