"""A sidecar process refuses to start on a corrupt or unusable database, naming the file."""

from __future__ import annotations

import pytest

from durabletask import client
from durabletask.sidecar.child_process import SidecarProcess, SidecarProcessError
from durabletask.sidecar.store import SqliteStore, StoreOpenError
from tests.durabletask.helpers.pipes import read_line


def _refused(children, db) -> str:
    child = children.spawn("tests.durabletask.durability.sidecar_child", ["--db", str(db)])
    assert child.process.wait(20) == 2
    assert child.process.stdout is not None
    assert read_line(child.process.stdout, 1) == ""  # never printed an address
    return child.log.read_text()


@pytest.mark.slow
def test_sidecar_refuses_to_start_on_a_corrupt_database_naming_the_file(tmp_path, children):
    db = tmp_path / "corrupt.db"
    garbage = b"\x00garbage, not a database\xff" * 500
    db.write_bytes(garbage)
    message = _refused(children, db)
    assert str(db) in message
    assert "corrupt" in message
    assert db.read_bytes() == garbage  # not replaced by an empty store


@pytest.mark.slow
def test_sidecar_refuses_to_start_when_the_database_cannot_be_created(tmp_path, children):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the database directory should be")
    db = blocker / "state.db"
    message = _refused(children, db)
    assert str(db) in message
    assert "writable" in message


@pytest.mark.slow
def test_sidecar_refuses_a_zero_length_file_it_did_not_create(tmp_path, children):
    db = tmp_path / "touched.db"
    db.write_bytes(b"")  # e.g. a typo'd path to a file another program created
    message = _refused(children, db)
    assert str(db) in message
    assert "empty file" in message
    assert db.read_bytes() == b""  # left as found


@pytest.mark.slow
def test_a_second_sidecar_on_the_same_database_is_refused_and_the_first_serves_on(tmp_path):
    db = tmp_path / "state.db"
    with SidecarProcess(db_path=db) as first:
        second = SidecarProcess(db_path=db)
        with pytest.raises(SidecarProcessError) as refused:
            second.start()
        assert "another durabletask sidecar" in str(refused.value)
        assert f"pid {first.pid}" in str(refused.value)
        with client.TaskHubGrpcClient(host_address=first.address) as c:
            instance_ids = [c.schedule_new_orchestration("anything") for _ in range(20)]
            assert all(c.get_orchestration_state(i) is not None for i in instance_ids)
    # The lock dies with its holder: the next sidecar opens the same file.
    with SidecarProcess(db_path=db) as successor, \
            client.TaskHubGrpcClient(host_address=successor.address) as c:
        assert all(c.get_orchestration_state(i) is not None for i in instance_ids)


def test_one_store_per_database_file_in_a_process_too(tmp_path):
    db = tmp_path / "state.db"
    first = SqliteStore(db)
    try:
        with pytest.raises(StoreOpenError, match="another durabletask sidecar"):
            SqliteStore(db)
    finally:
        first.close()
    SqliteStore(db).close()  # closing gave the lock back
