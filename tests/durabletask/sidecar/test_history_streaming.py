"""Workers advertising HISTORY_STREAMING get episodes without past events."""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.sidecar.fake_worker import schedule_task

STREAMING = [pb.WORKER_CAPABILITY_HISTORY_STREAMING]
LENGTH_KEY = "durabletask.historyLength"


def test_streaming_worker_gets_no_past_events_but_the_history_length(harness):
    harness.start("s1")
    worker = harness.worker(capabilities=STREAMING)
    first = worker.orchestration("s1")
    worker.complete(first, schedule_task(1, "step"))
    worker.complete_activity(worker.activity("s1"), result='"done"')
    second = worker.orchestration("s1").orchestratorRequest
    history = harness.history("s1")
    assert second.requiresHistoryStreaming
    assert len(second.pastEvents) == 0
    assert int(second.properties[LENGTH_KEY].number_value) == len(history)
    assert second.newEvents[-1].HasField("taskCompleted")


def test_plain_worker_still_gets_full_history(harness):
    harness.start("s2")
    worker = harness.worker()
    worker.complete(worker.orchestration("s2"), schedule_task(1, "step"))
    worker.complete_activity(worker.activity("s2"), result='"done"')
    second = worker.orchestration("s2").orchestratorRequest
    assert not second.requiresHistoryStreaming
    assert [e.WhichOneof("eventType") for e in second.pastEvents] == [
        e.WhichOneof("eventType") for e in harness.history("s2")
    ]
