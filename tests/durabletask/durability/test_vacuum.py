"""Purged instances give their space back: on their own in new files, with ``vacuum`` in old ones.

Files created by this version use SQLite's incremental auto-vacuum, and the store returns
free pages to the file system after purges. A file from an earlier version (auto-vacuum
off) keeps its size until ``durabletask vacuum`` rewrites it, which also switches it to
incremental auto-vacuum; the command refuses a file a sidecar is using.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store import SqliteStore
from tests.durabletask.cli.conftest import run_main
from tests.durabletask.sidecar.test_store_contract import commit, start

INSTANCES = 40
PAYLOAD = "x" * 50_000


def _fill_and_finish(path: Path) -> int:
    """Store finished instances with large inputs; return the file's size once closed."""
    store = SqliteStore(path)
    for i in range(INSTANCES):
        rec = start(store, f"i{i}", input=PAYLOAD)
        store.commit_episode(commit(rec, record=dataclasses.replace(
            rec, status=pb.ORCHESTRATION_STATUS_COMPLETED)))
    store.close()
    return path.stat().st_size


def _purge_all(path: Path) -> int:
    store = SqliteStore(path)
    for i in range(INSTANCES):
        assert store.purge_instance(f"i{i}")
    store.close()
    return path.stat().st_size


def _auto_vacuum(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])


def test_a_new_database_gives_the_space_of_purged_instances_back(tmp_path):
    db = tmp_path / "state.db"
    full = _fill_and_finish(db)

    purged = _purge_all(db)

    assert full > INSTANCES * len(PAYLOAD)
    assert purged < full / 4


def test_vacuum_shrinks_an_old_database_and_refuses_one_in_use(tmp_path):
    db = tmp_path / "old.db"
    full = _fill_and_finish(db)
    with sqlite3.connect(db) as conn:  # as files of earlier versions were made
        conn.execute("PRAGMA auto_vacuum = NONE")
        conn.execute("VACUUM")
    purged = _purge_all(db)
    in_use = SqliteStore(db)
    try:
        refused = run_main("vacuum", "--db", str(db))
    finally:
        in_use.close()

    vacuumed = run_main("vacuum", "--db", str(db), "--json")

    assert purged > full / 2  # nothing given back without auto-vacuum
    assert refused.status == 2
    assert "another durabletask sidecar" in refused.err
    assert vacuumed.status == 0, vacuumed.err
    report = json.loads(vacuumed.out)
    assert report["bytes_before"] >= purged
    assert report["bytes_after"] < full / 4
    assert db.stat().st_size < full / 4
    assert _auto_vacuum(db) == 2  # incremental from now on
    assert run_main("vacuum", "--db", str(tmp_path / "missing.db")).status == 2
