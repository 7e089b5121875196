"""Client paging and logging, keyword names, lazy exports and entity ids as in 1.12.0."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from durabletask import client, task
from durabletask.entities import EntityInstanceId, EntityMetadata


def empty(ctx, _):
    return None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.slow
def test_get_all_orchestration_states_follows_continuation_tokens(sidecar, run_worker):
    # 1.12.0 (test_batch_actions::test_get_orchestration_state_pagination_succeeds): with
    # max_instance_count=2 the client fetches every page, logging "Received continuation
    # token ..." at INFO to the deprecated log_handler it was given.
    run_worker([empty])
    records = _Records()
    with pytest.warns(DeprecationWarning, match="log_handler"):
        c = client.TaskHubGrpcClient(host_address=sidecar.address, log_handler=records)
    with c:
        ids = [c.schedule_new_orchestration(empty) for _ in range(3)]
        for instance_id in ids:
            c.wait_for_orchestration_completion(instance_id, timeout=30)
        states = c.get_all_orchestration_states(client.OrchestrationQuery(max_instance_count=2))
    assert {s.instance_id for s in states} == set(ids)
    assert any(m.startswith("Received continuation token") for m in records.messages)


def test_logger_cannot_be_combined_with_log_handler():
    # 1.12.0: 'logger' cannot be combined with 'log_handler' or 'log_formatter'.
    with pytest.raises(ValueError, match="cannot be combined"):
        client.TaskHubGrpcClient(logger=logging.getLogger("x"), log_handler=logging.Handler())


def test_keyword_names_are_the_official_ones():
    # 1.12.0: set_cancel_handler(cancel_handler=...), get_typed_state(intended_type=None).
    waiter: task.CancellableTask[None] = task.CancellableTask()
    calls: list[str] = []
    waiter.set_cancel_handler(cancel_handler=lambda: calls.append("cancelled"))
    assert waiter.cancel()
    assert calls == ["cancelled"]
    metadata = EntityMetadata(EntityInstanceId("counter", "k"), None, 0, None, True, "5", None)
    assert metadata.get_typed_state() == 5


@pytest.mark.parametrize("text", ["", "invalidEntityId", "@", "@@", "@invalid@", "@@invalid",
                                  "invalid@symbolplacement"])
def test_malformed_entity_ids_are_refused(text):
    # 1.12.0 (entities/test_entity_id_parsing): each of these raises ValueError.
    with pytest.raises(ValueError, match="(?i)entity"):
        EntityInstanceId.parse(text)


_PROBE = """
import json, sys
import durabletask
before = {"grpc": "grpc" in sys.modules, "worker": "durabletask.worker" in sys.modules}
from durabletask import (ActivityWorkItemFilter, ConcurrencyOptions, EntityWorkItemFilter,
    ExceptionPropertiesProvider, GrpcChannelOptions, GrpcRetryPolicyOptions,
    LargePayloadStorageOptions, OrchestrationWorkItemFilter, PayloadStore, VersioningOptions,
    WorkItemFilters)
print(json.dumps(before))
"""


@pytest.mark.slow
def test_top_level_exports_resolve_lazily():
    # 1.12.0: the names of durabletask.__all__ import from the package, and importing the
    # package alone imports neither grpc nor durabletask.worker.
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"grpc": False, "worker": False}


def test_continue_as_new_keeps_events_raised_before_the_first_episode(dt_client, run_worker):
    # 1.12.0 (test_orchestration_e2e::test_continue_as_new, which collects only events it
    # sees while not replaying): events carried over with save_events=True reach the next
    # execution in order, as new events, none lost.
    def collect(ctx, seen):
        seen = [*seen, [(yield ctx.wait_for_external_event("my_event")), ctx.is_replaying]]
        if len(seen) == 5:
            return seen
        ctx.continue_as_new(seen, save_events=True)
        return None

    instance_id = dt_client.schedule_new_orchestration(collect, input=[])
    for value in range(1, 6):
        dt_client.raise_orchestration_event(instance_id, "my_event", data=value)
    run_worker([collect])  # started after every event arrived
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.get_output() == [[value, False] for value in range(1, 6)]
