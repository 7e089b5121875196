"""SqliteStore specifics: state survives reopening, schema migrations, refusing bad files."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store import InstanceQuery, SqliteStore, StoreOpenError
from durabletask.sidecar.store import sqlite_schema
from tests.durabletask.sidecar.test_store_contract import (
    COMPLETED,
    RUNNING,
    T0,
    commit,
    event,
    start,
)


@pytest.fixture
def reopen(db_path):
    """Opens the store at ``db_path``; every store opened is closed after the test."""
    opened: list[SqliteStore] = []

    def factory(**kwargs) -> SqliteStore:
        store = SqliteStore(db_path, **kwargs)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def test_sqlite_store_state_survives_reopening_with_cold_caches(reopen):
    first = reopen()
    failure = pb.TaskFailureDetails(errorType="E", errorMessage="m")
    rec = start(first, tags={"k": "v"}, version="2", parent_instance_id="p", parent_task_id=3,
                scheduled_start_at=T0 + timedelta(seconds=1))
    history = [event("orchestratorStarted"), event("executionStarted")]
    result = first.commit_episode(commit(rec, [first.load_episode("i1", T0).inbox[0].seq],
                                         history_append=history,
                                         activities=[pb.ActivityRequest(name="a", taskId=1)]))
    later = T0 + timedelta(seconds=30)
    first.append_inbox("i1", event("timerFired"), visible_at=later)
    first.append_inbox("i1", event(name="go"))
    done = start(first, "done")
    done_rec = dataclasses.replace(done, status=pb.ORCHESTRATION_STATUS_FAILED, failure=failure,
                                   completed_at=T0, output='"x"', custom_status='"c"')
    first.commit_episode(commit(done, record=done_rec))
    first.close()

    second = reopen()
    assert second.incarnation == first.incarnation + 1
    assert second.get_instance("i1") == dataclasses.replace(rec, status=RUNNING)
    assert second.get_instance("done") == done_rec
    assert [e.WhichOneof("eventType") for e in second.get_history("i1")] == [
        "orchestratorStarted", "executionStarted"]
    assert second.pending_activity_tasks() == list(result.activity_tasks)
    assert second.pending_inbox() == [("i1", later), ("i1", None)]
    assert [r.event.eventRaised.name for r in second.load_episode("i1", T0).inbox] == ["go"]
    assert second.append_inbox("i1", event(name="after"))
    seqs = [r.seq for r in second.load_episode("i1", later).inbox]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


def test_sqlite_store_history_appends_continue_after_reopening(reopen):
    first = reopen(history_cache_size=0, record_cache_size=0)
    rec = start(first)
    for _ in range(3):
        first.commit_episode(commit(rec, history_append=[event("orchestratorStarted")]))
    first.close()
    second = reopen()
    second.commit_episode(commit(rec, history_append=[event("executionCompleted")]))
    kinds = [e.WhichOneof("eventType") for e in second.get_history("i1")]
    assert kinds == ["orchestratorStarted"] * 3 + ["executionCompleted"]


def test_sqlite_store_loss_counts_are_persisted(reopen):
    first = reopen()
    rec = start(first)
    (task,) = first.commit_episode(commit(rec, activities=[pb.ActivityRequest(name="a")])
                                   ).activity_tasks
    assert first.record_activity_loss(task.seq) == 1
    assert first.record_orchestration_loss("i1") == 1
    first.close()
    second = reopen()
    assert second.record_activity_loss(task.seq) == 2
    assert second.record_orchestration_loss("i1") == 2


def test_sqlite_store_query_pages_by_completion_time(reopen):
    store = reopen()
    for i in range(3):
        rec = start(store, f"c{i}")
        store.commit_episode(commit(rec, record=dataclasses.replace(
            rec, status=COMPLETED, completed_at=T0 + timedelta(seconds=3 - i))))
    rows = store.query_instances(InstanceQuery(order_by="completed", limit=2))
    assert [r.instance_id for r in rows] == ["c2", "c1"]
    after = (rows[-1].completed_at, rows[-1].instance_id)
    rest = store.query_instances(InstanceQuery(order_by="completed", after=after))
    assert [r.instance_id for r in rest] == ["c0"]
    assert store.query_instances(InstanceQuery(statuses=frozenset())) == []


def test_sqlite_store_writes_the_current_schema_version_in_wal_mode(reopen, db_path):
    reopen().close()
    with sqlite3.connect(db_path) as conn:
        assert sqlite_schema.schema_version(conn) == sqlite_schema.CURRENT_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_migrate_upgrades_an_older_file_and_keeps_its_data(reopen, db_path):
    store = reopen()
    start(store, "kept")
    store.close()
    added = sqlite_schema.Migration(
        sqlite_schema.CURRENT_VERSION + 1, "add a column",
        lambda conn: conn.execute("ALTER TABLE instances ADD COLUMN extra TEXT DEFAULT 'new'"),
    )
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        found = sqlite_schema.migrate(conn, (*sqlite_schema.MIGRATIONS, added))
        assert found == sqlite_schema.CURRENT_VERSION
        assert sqlite_schema.schema_version(conn) == added.version
        row = conn.execute("SELECT instance_id, extra FROM instances").fetchone()
        assert row == ("kept", "new")
    finally:
        conn.close()


def test_sqlite_store_upgrades_a_version_zero_empty_file(reopen, db_path):
    # An empty database (a header, user_version 0, no tables), as sqlite3 leaves one once
    # something was written: a zero-length file is refused instead (see test_bad_database).
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    store = reopen()
    start(store)
    assert store.get_instance("i1") is not None


def test_failed_migration_leaves_the_file_at_its_old_version(reopen, db_path):
    reopen().close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk on fire")

    step = sqlite_schema.Migration(sqlite_schema.CURRENT_VERSION + 1, "broken", broken)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            sqlite_schema.migrate(conn, (*sqlite_schema.MIGRATIONS, step))
        assert sqlite_schema.schema_version(conn) == sqlite_schema.CURRENT_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
    finally:
        conn.close()


def _assert_refused(db_path, fragment: str) -> None:
    with pytest.raises(StoreOpenError) as info:
        SqliteStore(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert fragment in message


def test_sqlite_store_refuses_a_corrupt_file_naming_it(db_path):
    db_path.write_bytes(b"definitely not an SQLite database " * 300)
    _assert_refused(db_path, "not a database")
    assert db_path.read_bytes().startswith(b"definitely")  # never overwritten


def test_sqlite_store_refuses_a_file_with_damaged_pages(reopen, db_path):
    store = reopen()
    for i in range(200):
        start(store, f"i{i}", input="x" * 500)
    store.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page: 4 * page] = b"\xff" * (2 * page)
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreOpenError) as info:
        SqliteStore(db_path)
    assert str(db_path) in str(info.value)


def test_sqlite_store_refuses_a_file_from_a_newer_version(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {sqlite_schema.CURRENT_VERSION + 1}")
    conn.close()
    _assert_refused(db_path, "newer")


def test_sqlite_store_refuses_a_foreign_database(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE customers (id)")
    conn.close()
    _assert_refused(db_path, "customers")


def test_sqlite_store_refuses_an_unwritable_location(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    _assert_refused(blocker / "state.db", "writable")
    _assert_refused(tmp_path, "directory")


def test_sqlite_store_rejects_unknown_synchronous_mode(db_path):
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(db_path, synchronous="OFF")  # type: ignore[arg-type]


def test_closed_sqlite_store_says_it_is_closed(reopen):
    store = reopen()
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get_instance("x")
