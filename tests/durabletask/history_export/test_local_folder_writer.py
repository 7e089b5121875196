"""LocalFolderHistoryWriter on the real file system: whole files or none, inside its folder."""

from __future__ import annotations

import pytest

from durabletask.extensions.history_export import HistoryWriter, LocalFolderHistoryWriter


def _write(writer: LocalFolderHistoryWriter, blob_name: str, payload: bytes,
           container: str = "c") -> None:
    writer.write(instance_id="i1", container=container, blob_name=blob_name, payload=payload,
                 content_type="application/json", content_encoding=None,
                 metadata={"instance_id": "i1"})


def test_blobs_become_files_per_container_and_a_rewrite_replaces_the_file(tmp_path):
    writer = LocalFolderHistoryWriter(tmp_path / "out")
    assert isinstance(writer, HistoryWriter)

    _write(writer, "run-1/a.json", b"first")
    _write(writer, "run-1/a.json", b"second")
    _write(LocalFolderHistoryWriter(tmp_path / "flat", per_container=False), "b.json", b"x")

    assert (tmp_path / "out" / "c" / "run-1" / "a.json").read_bytes() == b"second"
    assert [p.name for p in (tmp_path / "out" / "c" / "run-1").iterdir()] == ["a.json"]
    assert (tmp_path / "flat" / "b.json").read_bytes() == b"x"


def test_a_failed_write_names_the_file_and_leaves_no_partial_file(tmp_path):
    writer = LocalFolderHistoryWriter(tmp_path)
    (tmp_path / "c" / "taken.json").mkdir(parents=True)  # the final rename cannot succeed

    with pytest.raises(OSError, match="cannot write the history export of 'i1' to .*taken.json"):
        _write(writer, "taken.json", b"payload")

    assert [p.name for p in (tmp_path / "c").iterdir()] == ["taken.json"]
    assert list((tmp_path / "c" / "taken.json").iterdir()) == []


def test_a_folder_below_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")

    with pytest.raises(NotADirectoryError, match="Not a directory"):
        _write(LocalFolderHistoryWriter(tmp_path / "file" / "out"), "a.json", b"x")


@pytest.mark.parametrize(("container", "blob_name"), [
    ("c", "../escape.json"), ("..", "escape.json"), ("c", "/etc/passwd"), ("c", ""),
])
def test_names_that_would_leave_the_folder_are_refused(tmp_path, container, blob_name):
    with pytest.raises(ValueError, match="outside the export folder"):
        _write(LocalFolderHistoryWriter(tmp_path / "out"), blob_name, b"x", container=container)
    assert not (tmp_path / "out").exists()
