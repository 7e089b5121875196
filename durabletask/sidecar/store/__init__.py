"""Stores for the embedded sidecar: the ``Store`` protocol and its implementations."""

from __future__ import annotations

from durabletask.sidecar.store.base import (
    TERMINAL_STATUSES,
    ActivityTask,
    CommitResult,
    Episode,
    EpisodeCommit,
    InboxRow,
    InstanceQuery,
    InstanceRecord,
    NewChild,
    OutboxMessage,
    Store,
    StoreOpenError,
)
from durabletask.sidecar.store.memory import MemoryStore
from durabletask.sidecar.store.sqlite import SqliteStore

__all__ = [
    "TERMINAL_STATUSES",
    "ActivityTask",
    "CommitResult",
    "Episode",
    "EpisodeCommit",
    "InboxRow",
    "InstanceQuery",
    "InstanceRecord",
    "MemoryStore",
    "NewChild",
    "OutboxMessage",
    "SqliteStore",
    "Store",
    "StoreOpenError",
]
