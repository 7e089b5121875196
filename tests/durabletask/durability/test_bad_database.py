"""A sidecar process refuses to start on a corrupt or unusable database, naming the file."""

from __future__ import annotations

import pytest

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
