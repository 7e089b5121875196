"""``SqliteStore``: the durable ``Store``, one SQLite transaction per state transition."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

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
    StoreOpenError,
    ascii_lower,
)
from durabletask.sidecar.store.file_lock import DatabaseLock, refuse_foreign_empty_file
from durabletask.sidecar.store.sqlite_entities import SqliteEntityTables
from durabletask.sidecar.store.sqlite_schema import TABLES, SchemaError, migrate
from durabletask.sidecar.store.sqlite_schema import from_us as _dt
from durabletask.sidecar.store.sqlite_schema import to_us as _us

logger = logging.getLogger("durabletask.sidecar.store")

_V = TypeVar("_V")

_FAILED = pb.ORCHESTRATION_STATUS_FAILED
_RECORD_COLUMNS = (
    "instance_id, execution_id, name, version, status, input, output, custom_status, failure, "
    "tags, parent_instance_id, parent_task_id, created_at, last_updated_at, completed_at, "
    "scheduled_start_at, trace_context"
)
_INSERT_RECORD = f"INSERT INTO instances ({_RECORD_COLUMNS}) VALUES ({', '.join('?' * 17)})"
_UPDATE_RECORD = (
    "UPDATE instances SET execution_id = ?, name = ?, version = ?, status = ?, input = ?, "
    "output = ?, custom_status = ?, failure = ?, tags = ?, parent_instance_id = ?, "
    "parent_task_id = ?, created_at = ?, last_updated_at = ?, completed_at = ?, "
    "scheduled_start_at = ?, trace_context = ?, lost_workers = 0 WHERE instance_id = ?"
)
_INCREMENTAL = 2  # PRAGMA auto_vacuum value
_RECLAIM_PAGES = 16  # free pages (64 KiB at the default page size) worth giving back
# Inbox rows of instance ids that do not exist (events raised before, or without, a start).
_ORPHAN = ("NOT EXISTS (SELECT 1 FROM instances WHERE instances.instance_id = "
           "inbox.instance_id)")
_OPEN_ADVICE = (
    "if the file is corrupt, restore it from a backup or move it away to start with an "
    "empty store; otherwise check that the file and its directory exist and are writable"
)


class SqliteStore(SqliteEntityTables):
    """A ``Store`` in one SQLite file: WAL journal, ``synchronous=FULL``, append-only history.

    Every mutating method is one ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction,
    so a crash (even ``SIGKILL`` or power loss with ``FULL``) leaves each state
    transition either fully applied or not at all. Inside :meth:`group` the
    methods become savepoints of one transaction, so several transitions share
    one disk flush (group commit). One connection serves the
    sidecar's loop; calls must not overlap (the sidecar makes them from a
    single thread). Instance records and recent histories are cached in
    memory, write-through, so dispatch does not re-read and re-parse them.

    Example:
        >>> store = SqliteStore("state.db")  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        verify: bool = True,
        record_cache_size: int = 4096,
        history_cache_size: int = 256,
    ) -> None:
        """Open (creating or migrating if needed) the database at ``path``.

        Args:
            path: The database file; created if missing.
            synchronous: ``FULL`` survives power loss; ``NORMAL`` survives process
                crashes only (the last commits may be lost on power loss) but is faster.
            verify: Run ``PRAGMA quick_check`` on open to refuse a damaged file.
            record_cache_size: Instance records kept in memory.
            history_cache_size: Instance histories kept in memory.

        Raises:
            StoreOpenError: The file is corrupt, not a durabletask database, from a
                newer version, or cannot be opened or written. The message names it.
        """
        self.path = os.fspath(path)
        self._lock = DatabaseLock(self.path)
        try:
            self._conn: sqlite3.Connection | None = _open(self.path, synchronous, verify)
        except BaseException:
            self._lock.release()
            raise
        conn = self._conn
        self.incarnation = _next_incarnation(conn, self.path)
        """How many times this file was opened, this time included."""
        top = conn.execute(
            "SELECT MAX(COALESCE((SELECT MAX(seq) FROM inbox), 0), "
            "COALESCE((SELECT MAX(seq) FROM activities), 0))"
        ).fetchone()[0]
        self._next_seq = int(top) + 1
        self._records: _Lru[InstanceRecord] = _Lru(record_cache_size)
        self._histories: _Lru[list[pb.HistoryEvent]] = _Lru(history_cache_size)
        self._grouping = False
        self.commits = 0
        """Transactions committed since the store was opened (one per group)."""
        logger.info("opened %s (incarnation %d)", self.path, self.incarnation)

    groups_commits = True
    """Each commit flushes to disk, so grouping transitions saves that cost."""

    # ----- Store protocol ----------------------------------------------------

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """See ``Store.group``: one ``BEGIN IMMEDIATE`` ... ``COMMIT`` around the block."""
        if self._grouping:
            raise RuntimeError("SqliteStore.group() blocks cannot be nested")
        with self._tx():
            self._grouping = True
            try:
                yield
            finally:
                self._grouping = False

    def create_instance(
        self,
        record: InstanceRecord,
        start_event: pb.HistoryEvent,
        *,
        visible_at: datetime | None = None,
        replaceable_statuses: frozenset[int] = frozenset(),
    ) -> bool:
        """See ``Store.create_instance``."""
        existing = self.get_instance(record.instance_id)
        if existing is not None and existing.status not in replaceable_statuses:
            return False
        with self._tx():
            if existing is not None:
                self._delete(record.instance_id)
            self._insert(record, start_event, visible_at)
        return True

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """See ``Store.get_instance``."""
        cached = self._records.get(instance_id)
        if cached is not None:
            return cached
        row = self._db.execute(
            f"SELECT {_RECORD_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        if row is None:
            return None
        record = _record_from_row(row)
        self._records.put(instance_id, record)
        return record

    def get_history(self, instance_id: str) -> Sequence[pb.HistoryEvent] | None:
        """See ``Store.get_history``."""
        cached = self._histories.get(instance_id)
        if cached is not None:
            return cached
        if self.get_instance(instance_id) is None:
            return None
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY position", (instance_id,)
        )
        history = [pb.HistoryEvent.FromString(blob) for (blob,) in rows]
        self._histories.put(instance_id, history)
        return history

    def append_inbox(
        self, instance_id: str, event: pb.HistoryEvent, *, visible_at: datetime | None = None
    ) -> bool:
        """See ``Store.append_inbox``."""
        with self._tx():
            return self._append(instance_id, event, visible_at)

    def load_episode(self, instance_id: str, now: datetime) -> Episode | None:
        """See ``Store.load_episode``."""
        record = self.get_instance(instance_id)
        if record is None:
            return None
        rows = self._db.execute(
            "SELECT seq, visible_at, event FROM inbox WHERE instance_id = ? "
            "AND (visible_at IS NULL OR visible_at <= ?) ORDER BY seq",
            (instance_id, _us(now)),
        ).fetchall()
        if not rows:
            return None
        inbox = [
            InboxRow(seq=seq, instance_id=instance_id, visible_at=_dt(visible),
                     event=pb.HistoryEvent.FromString(blob))
            for seq, visible, blob in rows
        ]
        history = self.get_history(instance_id) or []
        return Episode(record=record, history=history, inbox=inbox)

    def commit_episode(self, commit: EpisodeCommit) -> CommitResult | None:
        """See ``Store.commit_episode``."""
        iid = commit.instance_id
        current = self.get_instance(iid)
        if current is None or current.execution_id != commit.expected_execution_id:
            return None
        with self._tx() as db:
            self._write_history(iid, commit)
            db.execute(_UPDATE_RECORD, (*_record_params(commit.record)[1:], iid))
            self._records.put(iid, commit.record)
            db.executemany(
                "DELETE FROM inbox WHERE seq = ? AND instance_id = ?",
                [(seq, iid) for seq in commit.consumed],
            )
            exec_id = commit.record.execution_id
            tasks = [self._add_activity(iid, exec_id, r) for r in commit.activities]
            for child in commit.children:
                self._create_child(iid, child)
            for msg in commit.messages:
                self._append(msg.target_id, msg.event, msg.visible_at)
            self._queue_entity_messages(commit.entity_messages)
            if commit.record.is_terminal:
                db.execute("DELETE FROM inbox WHERE instance_id = ?", (iid,))
        return CommitResult(activity_tasks=tasks)

    def commit_activity_result(self, task_seq: int, event: pb.HistoryEvent) -> bool:
        """See ``Store.commit_activity_result``."""
        row = self._db.execute(
            "SELECT instance_id, execution_id FROM activities WHERE seq = ?", (task_seq,)
        ).fetchone()
        if row is None:
            return False
        instance_id, execution_id = row
        with self._tx() as db:
            db.execute("DELETE FROM activities WHERE seq = ?", (task_seq,))
            record = self.get_instance(instance_id)
            if record is None or record.is_terminal or record.execution_id != execution_id:
                return False
            self._add_row(instance_id, event, None)
        return True

    def drop_activity_task(self, task_seq: int) -> None:
        """See ``Store.drop_activity_task``."""
        with self._tx() as db:
            db.execute("DELETE FROM activities WHERE seq = ?", (task_seq,))

    def pending_activity_tasks(self) -> list[ActivityTask]:
        """See ``Store.pending_activity_tasks``."""
        rows = self._db.execute(
            "SELECT seq, instance_id, execution_id, request FROM activities ORDER BY seq"
        )
        return [
            ActivityTask(seq=seq, instance_id=iid, execution_id=eid,
                         request=pb.ActivityRequest.FromString(blob))
            for seq, iid, eid, blob in rows
        ]

    def pending_inbox(self) -> list[tuple[str, datetime | None]]:
        """See ``Store.pending_inbox``."""
        rows = self._db.execute(
            "SELECT instance_id, visible_at FROM inbox GROUP BY instance_id, visible_at "
            "ORDER BY MIN(seq)"
        )
        return [(iid, _dt(visible)) for iid, visible in rows]

    def record_orchestration_loss(self, instance_id: str) -> int:
        """See ``Store.record_orchestration_loss``."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE instances SET lost_workers = lost_workers + 1 WHERE instance_id = ? "
                "RETURNING lost_workers", (instance_id,)
            ).fetchone()
        return int(row[0]) if row else 1

    def record_activity_loss(self, task_seq: int) -> int:
        """See ``Store.record_activity_loss``."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE activities SET lost_workers = lost_workers + 1 WHERE seq = ? "
                "RETURNING lost_workers", (task_seq,)
            ).fetchone()
        return int(row[0]) if row else 1

    def rewind_instance(
        self, instance_id: str, event: pb.HistoryEvent, now: datetime
    ) -> InstanceRecord | None:
        """See ``Store.rewind_instance``."""
        record = self.get_instance(instance_id)
        if record is None or record.status != _FAILED:
            return None
        record = dataclasses.replace(
            record,
            status=pb.ORCHESTRATION_STATUS_RUNNING,
            output=None,
            failure=None,
            completed_at=None,
            last_updated_at=now,
        )
        with self._tx() as db:
            db.execute(_UPDATE_RECORD, (*_record_params(record)[1:], instance_id))
            self._records.put(instance_id, record)
            self._add_row(instance_id, event, None)
        return record

    def purge_instance(self, instance_id: str) -> bool:
        """See ``Store.purge_instance``."""
        record = self.get_instance(instance_id)
        if record is None or not record.is_terminal:
            return False
        with self._tx():
            self._delete(instance_id)
        self._reclaim_free_pages()
        return True

    def vacuum(self) -> tuple[int, int]:
        """Rewrite the file without free pages, and switch it to incremental auto-vacuum.

        Blocks every other use of the store while it runs (the time grows with the file);
        the ``durabletask vacuum`` command runs it while no sidecar uses the file.

        Returns:
            The size in bytes of the database and its write-ahead log before and after.
        """
        db = self._db
        before = self._disk_bytes()
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return before, self._disk_bytes()

    def _disk_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal")
                   if os.path.exists(p))

    def _reclaim_free_pages(self) -> None:
        # Files created by this version use incremental auto-vacuum: after purges, give
        # the free pages back to the file system once there are enough to matter.
        db = self._db
        if db.in_transaction or db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            return
        if db.execute("PRAGMA freelist_count").fetchone()[0] >= _RECLAIM_PAGES:
            # sqlite3_exec steps it to the end (execute() would free one page only).
            db.executescript("PRAGMA incremental_vacuum;")

    def query_instances(self, query: InstanceQuery) -> list[InstanceRecord]:
        """See ``Store.query_instances``."""
        sql, params = _query_sql(query)
        return [_record_from_row(row) for row in self._db.execute(sql, params)]

    def count_by_status(self, query: InstanceQuery) -> dict[int, int]:
        """See ``Store.count_by_status``."""
        where, params = _query_where(query)
        sql = "SELECT status, COUNT(*) FROM instances"
        if where:
            sql += " WHERE " + " AND ".join(where)  # noqa: S608 - clauses are ours
        return {status: count for status, count in self._db.execute(sql + " GROUP BY status",
                                                                    params)}

    def count_orphan_events(self) -> int:
        """See ``Store.count_orphan_events``."""
        return int(self._db.execute(f"SELECT COUNT(*) FROM inbox WHERE {_ORPHAN}").fetchone()[0])

    def orphan_events(self, limit: int | None = None) -> list[InboxRow]:
        """See ``Store.orphan_events``."""
        rows = self._db.execute(
            f"SELECT seq, instance_id, visible_at, event FROM inbox WHERE {_ORPHAN} "
            "ORDER BY seq LIMIT ?", (-1 if limit is None else limit,),
        )
        return [InboxRow(seq=seq, instance_id=iid, visible_at=_dt(visible),
                         event=pb.HistoryEvent.FromString(blob))
                for seq, iid, visible, blob in rows]

    def delete_orphan_events(self, seqs: Iterable[int]) -> int:
        """See ``Store.delete_orphan_events``."""
        with self._tx() as db:
            return sum(
                db.execute(f"DELETE FROM inbox WHERE seq = ? AND {_ORPHAN}", (seq,)).rowcount
                for seq in seqs
            )

    def clear(self) -> None:
        """See ``Store.clear``."""
        with self._tx() as db:
            for table in ("instances", "history", "inbox", "activities", "entities",
                          "entity_inbox"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            self._records.clear()
            self._histories.clear()

    def close(self) -> None:
        """See ``Store.close``; safe to call twice."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._lock.release()

    # ----- internals ---------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"the SQLite store for {self.path!r} is closed")
        return self._conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (a savepoint inside a group); rolls back on any failure."""
        db = self._db
        if self._grouping:
            db.execute("SAVEPOINT transition")
            try:
                yield db
                db.execute("RELEASE transition")
            except BaseException:
                self._drop_caches()
                db.execute("ROLLBACK TO transition")
                db.execute("RELEASE transition")
                raise
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
            self.commits += 1
        except BaseException:
            self._drop_caches()
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _drop_caches(self) -> None:
        # The caches may hold writes that were just rolled back; start over from disk.
        self._records.clear()
        self._histories.clear()

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _insert(
        self, record: InstanceRecord, start_event: pb.HistoryEvent, visible_at: datetime | None
    ) -> None:
        self._db.execute(_INSERT_RECORD, _record_params(record))
        self._records.put(record.instance_id, record)
        self._histories.put(record.instance_id, [])
        self._add_row(record.instance_id, start_event, visible_at)

    def _delete(self, instance_id: str) -> None:
        db = self._db
        for table in ("instances", "history", "inbox", "activities"):
            db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608
        self._records.pop(instance_id)
        self._histories.pop(instance_id)

    def _append(
        self, instance_id: str, event: pb.HistoryEvent, visible_at: datetime | None
    ) -> bool:
        record = self.get_instance(instance_id)
        if record is not None and record.is_terminal:
            return False
        self._add_row(instance_id, event, visible_at)
        return True

    def _add_row(
        self, instance_id: str, event: pb.HistoryEvent, visible_at: datetime | None
    ) -> None:
        self._db.execute(
            "INSERT INTO inbox (seq, instance_id, visible_at, event) VALUES (?, ?, ?, ?)",
            (self._take_seq(), instance_id, _us(visible_at), event.SerializeToString()),
        )

    def _add_activity(
        self, instance_id: str, execution_id: str, request: pb.ActivityRequest
    ) -> ActivityTask:
        seq = self._take_seq()
        self._db.execute(
            "INSERT INTO activities (seq, instance_id, execution_id, request) VALUES (?, ?, ?, ?)",
            (seq, instance_id, execution_id, request.SerializeToString()),
        )
        return ActivityTask(
            seq=seq, instance_id=instance_id, execution_id=execution_id, request=request
        )

    def _create_child(self, parent_id: str, child: NewChild) -> None:
        existing = self.get_instance(child.record.instance_id)
        if existing is not None and not existing.is_terminal:
            self._add_row(parent_id, child.failed_event, None)
            return
        if existing is not None:
            self._delete(child.record.instance_id)
        self._insert(child.record, child.start_event, None)

    def _write_history(self, instance_id: str, commit: EpisodeCommit) -> None:
        db = self._db
        cached = self._histories.get(instance_id)
        if commit.history_replace is not None:
            db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
            events = list(commit.history_replace)
            start = 0
            history: list[pb.HistoryEvent] | None = events
        else:
            events = list(commit.history_append)
            start = len(cached) if cached is not None else self._history_length(instance_id)
            history = None if cached is None else [*cached, *events]
        db.executemany(
            "INSERT INTO history (instance_id, position, event) VALUES (?, ?, ?)",
            [(instance_id, start + i, e.SerializeToString()) for i, e in enumerate(events)],
        )
        if history is not None:
            self._histories.put(instance_id, history)

    def _history_length(self, instance_id: str) -> int:
        row = self._db.execute(
            "SELECT MAX(position) FROM history WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1


class _Lru(Generic[_V]):
    """A small least-recently-used map of instance id to cached value."""

    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[str, _V] = OrderedDict()
        self._capacity = max(0, capacity)

    def get(self, key: str) -> _V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._capacity:
            self._data.popitem(last=False)

    def pop(self, key: str) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


def _open(path: str, synchronous: str, verify: bool) -> sqlite3.Connection:
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
    if os.path.isdir(path):
        raise StoreOpenError(path, "it is a directory; pass the path of a database file")
    refuse_foreign_empty_file(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               cached_statements=256)
    except sqlite3.Error as exc:
        raise StoreOpenError(path, f"{exc} ({_OPEN_ADVICE})") from exc
    try:
        _configure(conn, synchronous, verify)
        migrate(conn)
        _check_tables(conn)
    except (sqlite3.Error, SchemaError) as exc:
        conn.close()
        advice = "" if isinstance(exc, SchemaError) else f" ({_OPEN_ADVICE})"
        raise StoreOpenError(path, f"{exc}{advice}") from exc
    return conn


def _configure(conn: sqlite3.Connection, synchronous: str, verify: bool) -> None:
    conn.execute("PRAGMA busy_timeout = 2000")
    # Takes effect only on a new, empty file (older files: `durabletask vacuum`).
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"could not switch the journal to WAL (got {mode!r})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if verify:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity check failed: {'; '.join(problems)}")


def _check_tables(conn: sqlite3.Connection) -> None:
    found = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = TABLES - found
    if missing:
        raise SchemaError(f"tables {sorted(missing)} are missing; the file is damaged")


def _next_incarnation(conn: sqlite3.Connection, path: str) -> int:
    """Count this opening in the file; the write also proves the file is writable."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'incarnation' "
            "RETURNING value"
        ).fetchone()
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
        raise StoreOpenError(path, f"{exc} ({_OPEN_ADVICE})") from exc
    return int(row[0]) if row else 0


def _record_params(r: InstanceRecord) -> tuple[Any, ...]:
    return (
        r.instance_id, r.execution_id, r.name, r.version, r.status, r.input, r.output,
        r.custom_status, None if r.failure is None else r.failure.SerializeToString(),
        json.dumps(r.tags), r.parent_instance_id, r.parent_task_id, _us(r.created_at),
        _us(r.last_updated_at), _us(r.completed_at), _us(r.scheduled_start_at),
        None if r.trace_context is None else r.trace_context.SerializeToString(),
    )


def _record_from_row(row: Sequence[Any]) -> InstanceRecord:
    (iid, eid, name, version, status, data, output, custom, failure, tags, parent, parent_task,
     created, updated, completed, scheduled, trace) = row
    created_at = _dt(created)
    updated_at = _dt(updated)
    # NOT NULL columns
    assert created_at is not None
    assert updated_at is not None
    return InstanceRecord(
        instance_id=iid, execution_id=eid, name=name, version=version, status=status,
        input=data, output=output, custom_status=custom,
        failure=None if failure is None else pb.TaskFailureDetails.FromString(failure),
        tags=json.loads(tags), parent_instance_id=parent, parent_task_id=parent_task,
        created_at=created_at, last_updated_at=updated_at, completed_at=_dt(completed),
        scheduled_start_at=_dt(scheduled),
        trace_context=None if trace is None else pb.OrchestrationTraceContext.FromString(trace),
    )


def _query_sql(query: InstanceQuery) -> tuple[str, list[Any]]:
    key = "completed_at" if query.order_by == "completed" else "created_at"
    where, params = _query_where(query)
    if query.after is not None:
        where.append(f"({key}, instance_id) {'<' if query.descending else '>'} (?, ?)")
        params += [_us(query.after[0]), query.after[1]]
    sql = f"SELECT {_RECORD_COLUMNS} FROM instances"  # noqa: S608 - clauses are ours
    if where:
        sql += " WHERE " + " AND ".join(where)
    direction = " DESC" if query.descending else ""
    sql += f" ORDER BY {key}{direction}, instance_id{direction}"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return sql, params


def _query_where(query: InstanceQuery) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of a query's filters (without its page position) and their values."""
    where: list[str] = []
    params: list[Any] = []

    def add(clause: str, *values: Any) -> None:
        where.append(clause)
        params.extend(values)

    if query.statuses is not None:
        add(f"status IN ({', '.join('?' * len(query.statuses))})" if query.statuses else "0",
            *sorted(query.statuses))
    if query.id_prefix:
        add("substr(instance_id, 1, ?) = ?", len(query.id_prefix), query.id_prefix)
    if query.name is not None:
        add("name = ?", query.name)
    if query.search:
        needle = ascii_lower(query.search)
        add("(instr(lower(instance_id), ?) > 0 OR instr(lower(name), ?) > 0)", needle, needle)
    for column, op, value in _time_bounds(query):
        add(f"{column} {op} ?", _us(value))
    if query.completed_from or query.completed_to or query.order_by == "completed":
        add("completed_at IS NOT NULL")
    return where, params


def _time_bounds(query: InstanceQuery) -> Iterable[tuple[str, str, datetime]]:
    bounds = (
        ("created_at", ">=", query.created_from),
        ("created_at", "<=", query.created_to),
        ("completed_at", ">=", query.completed_from),
        ("completed_at", "<=", query.completed_to),
    )
    return [(column, op, value) for column, op, value in bounds if value is not None]
