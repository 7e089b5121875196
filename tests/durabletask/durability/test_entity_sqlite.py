"""SqliteStore entity specifics: migration of version-1 files, reopening, one transaction each."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from durabletask.sidecar.store import SqliteStore, sqlite_schema
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityLock,
    EntityMessage,
    EntityRecord,
    ResponseMessage,
)
from tests.durabletask.sidecar.test_entity_store_contract import msg, ops
from tests.durabletask.sidecar.test_store_contract import T0, event, inbox_names, start

E1, E2 = "@counter@1", "@counter@2"


@pytest.fixture
def reopen(db_path):
    opened: list[SqliteStore] = []

    def factory() -> SqliteStore:
        store = SqliteStore(db_path)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def test_a_version_1_database_gains_the_entity_tables_and_keeps_its_data(reopen, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        sqlite_schema.migrate(conn, sqlite_schema.MIGRATIONS[:1])  # a file from before entities
        conn.execute(
            "INSERT INTO instances (instance_id, execution_id, name, status, created_at, "
            "last_updated_at) VALUES ('old', 'e', 'orch', 0, 0, 0)"
        )
        assert sqlite_schema.schema_version(conn) == 1
    finally:
        conn.close()
    store = reopen()
    assert store.get_instance("old").name == "orch"
    store.append_entity_messages([msg()])
    assert ops(store) == ["op"]
    with sqlite3.connect(db_path) as check:
        assert sqlite_schema.schema_version(check) == sqlite_schema.CURRENT_VERSION >= 2
    check.close()


def test_entity_state_locks_inbox_and_losses_survive_reopening(reopen):
    first = reopen()
    later = T0 + timedelta(seconds=30)
    first.append_entity_messages([msg(name="queued", source_id="o1", source_execution="x"),
                                  msg(name="delayed", visible_at=later)])
    lock = EntityLock(holder_id="o1", holder_execution="x", section_id="cs")
    first.commit_entity(EntityCommit(entity_id=E1, record=EntityRecord(
        entity_id=E1, state='{"n": 1}', last_modified_at=T0, lock=lock)))
    first.record_entity_loss(E1)
    first.close()

    second = reopen()
    found = second.get_entity(E1)
    assert (found.state, found.lock, found.backlog) == ('{"n": 1}', lock, 2)
    row = second.load_entity(E1, T0)[1][0]
    assert (row.source_id, row.source_execution) == ("o1", "x")
    assert second.pending_entity_rows() == [(E1, None), (E1, later)]
    assert second.record_entity_loss(E1) == 2


def test_inbox_sequence_numbers_are_never_reused(reopen):
    store = reopen()
    store.append_entity_messages([msg(name="a")])
    first = store.load_entity(E1, T0)[1][0].seq
    store.commit_entity(EntityCommit(entity_id=E1, consumed=(first,)))
    store.close()
    store = reopen()
    store.append_entity_messages([msg(name="b")])
    assert store.load_entity(E1, T0)[1][0].seq > first


def test_an_entity_commit_inside_a_failed_group_leaves_no_trace(reopen):
    store = reopen()
    rec = start(store, "o1")
    store.append_entity_messages([msg()])
    rows = store.load_entity(E1, T0)[1]
    with pytest.raises(RuntimeError):  # noqa: PT012 - the raise ends the group
        with store.group():
            store.commit_entity(EntityCommit(
                entity_id=E1,
                record=EntityRecord(entity_id=E1, state="1", last_modified_at=T0),
                consumed=(rows[0].seq,),
                entity_messages=[EntityMessage(target_id=E2, event=event(name="x"))],
                responses=[ResponseMessage(instance_id="o1", execution_id=rec.execution_id,
                                           event=event(name="result"))],
            ))
            raise RuntimeError("the group's commit fails")
    assert store.get_entity(E1).state is None
    assert ops(store) == ["op"]
    assert store.get_entity(E2) is None
    assert inbox_names(store, "o1") == ["executionStarted"]
