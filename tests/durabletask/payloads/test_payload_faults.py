"""A store that lost a payload, and a store that fails: what the user sees.

A missing payload fails the work item with ``PayloadNotFoundError`` naming the store and
the token (never a ``JSONDecodeError`` from decoding the token as data); a store that
cannot be read abandons the work item, which the sidecar redelivers until the store is
back. The faults are real: files deleted, a folder replaced by a file.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from durabletask import client, task
from durabletask.payload import FilePayloadStore, PayloadNotFoundError
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.payloads.conftest import THRESHOLD_BYTES, failure_of, payload_files

pytestmark = pytest.mark.slow

BIG = 3 * THRESHOLD_BYTES
TIMEOUT = 30
NOT_FOUND = "durabletask.payload.errors.PayloadNotFoundError"


def echo(ctx: task.OrchestrationContext, text: str) -> str:
    return text


def count(ctx: task.ActivityContext, text: str) -> int:
    return len(text)


def counts_safely(ctx: task.OrchestrationContext, _: Any) -> Any:
    try:
        return (yield ctx.call_activity(count, input="c" * BIG))
    except task.TaskFailedError as error:
        return [error.details.error_type, error.details.message]


def test_missing_orchestration_input_fails_it_naming_store_and_token(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
) -> None:
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=file_store) as c:
        instance_id = c.schedule_new_orchestration(echo, input="x" * BIG)
        [stored] = payload_files(file_store)
        stored.unlink()
        make_worker([echo], payload_store=file_store).start()
        c.wait_for_orchestration_completion(instance_id, fetch_payloads=False, timeout=TIMEOUT)
        # The client cannot resolve the input either, and says so.
        with pytest.raises(PayloadNotFoundError, match=stored.name):
            c.get_orchestration_state(instance_id)
    details = failure_of(sidecar.address, instance_id)

    assert details.error_type == NOT_FOUND
    assert f"blob:v1:durabletask-payloads:{instance_id}/{stored.name}" in details.message
    assert repr(file_store) in details.message


def test_missing_activity_input_fails_the_activity_and_the_orchestration_can_catch_it(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
) -> None:
    orchestrations = make_worker([counts_safely], payload_store=file_store)
    orchestrations.use_work_item_filters()
    orchestrations.start()
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=file_store) as c:
        instance_id = c.schedule_new_orchestration(counts_safely)
        # The orchestrator externalized the activity input when it scheduled the activity.
        [stored] = poll_until(lambda: payload_files(file_store), timeout=TIMEOUT,
                              message="the activity input to be stored")
        stored.unlink()
        activities = make_worker([], [count], payload_store=file_store)
        activities.use_work_item_filters()
        activities.start()
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)

    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    error_type, message = state.get_output()
    assert error_type == NOT_FOUND
    assert f"{instance_id}/{stored.name}" in message


def test_failing_store_abandons_the_work_item_and_it_completes_once_the_store_is_back(
    sidecar: InMemoryOrchestrationBackend, make_worker: Any, file_store: FilePayloadStore,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="durabletask.worker")
    with client.TaskHubGrpcClient(host_address=sidecar.address, payload_store=file_store) as c:
        instance_id = c.schedule_new_orchestration(echo, input="y" * BIG)
        container = file_store.directory / "durabletask-payloads"
        aside = tmp_path / "aside"
        shutil.move(container, aside)
        container.write_text("not a folder")  # reads now fail with NotADirectoryError
        make_worker([echo], payload_store=file_store).start()

        poll_until(lambda: "abandoning" in caplog.text and instance_id in caplog.text,
                   timeout=TIMEOUT, message="the worker to abandon the episode")
        running = c.get_orchestration_state(instance_id, fetch_payloads=False)
        container.unlink()
        shutil.move(aside, container)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)

    assert running is not None
    assert running.runtime_status != client.OrchestrationStatus.FAILED
    assert "NotADirectoryError" in caplog.text
    assert repr(file_store) in caplog.text
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.get_output() == "y" * BIG
