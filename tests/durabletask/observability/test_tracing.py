"""Traces of real runs (embedded sidecar, real gRPC), read with OpenTelemetry's SDK.

Span names, kinds and attributes are 1.12.0's (durabletask/internal/tracing.py and its
call sites in worker.py and client.py), so traces of mixed fleets join up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from durabletask import client, entities, task
from durabletask.worker import OrchestrationCacheOptions
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.helpers.spans_view import describe, durable, is_child, named, one

TIMEOUT = 30


def greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}"


def boom(ctx: task.ActivityContext, _: object) -> None:
    raise ValueError("no luck")


def child(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(greet, input=name)
    return greeting


def family(ctx: task.OrchestrationContext, _: object):
    first = yield ctx.call_activity(greet, input="parent")
    yield ctx.create_timer(timedelta(milliseconds=50))
    second = yield ctx.call_sub_orchestrator(child, input="child")
    return [first, second]


def fails(ctx: task.OrchestrationContext, _: object):
    try:
        yield ctx.call_activity(boom)
    except task.TaskFailedError:
        pass
    raise RuntimeError("gave up")


def _completed(dt_client: client.TaskHubGrpcClient, instance_id: str) -> None:
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
    assert state is not None
    assert state.runtime_status in (client.OrchestrationStatus.COMPLETED,
                                    client.OrchestrationStatus.FAILED)


def _wait_for(spans, name: str, count: int = 1, instance_id: str | None = None):
    """Spans are emitted once the sidecar accepted the episode: wait for them."""
    return poll_until(
        lambda: (found := named(spans.get_finished_spans(), name, instance_id=instance_id))
        and len(found) >= count and found,
        timeout=TIMEOUT, message=f"{count} span(s) {name}")


def test_span_tree_of_an_orchestration_with_activity_timer_and_sub_orchestration(
    spans, run_worker, dt_client,
):
    run_worker([family, child], [greet])
    instance_id = dt_client.schedule_new_orchestration(family)
    _completed(dt_client, instance_id)
    _wait_for(spans, "orchestration:family", instance_id=instance_id)
    found = durable(spans.get_finished_spans())

    schedule = one(found, "create_orchestration:family", SpanKind.PRODUCER)
    parent = one(found, "orchestration:family", SpanKind.SERVER)
    timer = one(found, "orchestration:family:timer", SpanKind.INTERNAL)
    sub_client = one(found, "orchestration:child", SpanKind.CLIENT)
    sub_server = one(found, "orchestration:child", SpanKind.SERVER)
    greet_clients = named(found, "activity:greet", SpanKind.CLIENT)
    greet_servers = named(found, "activity:greet", SpanKind.SERVER)
    assert len(found) == 9, describe(found)
    assert len({s.context.trace_id for s in found}) == 1, "one trace from client to activity"
    assert schedule.parent is None
    assert is_child(parent, schedule)
    assert is_child(timer, parent)
    assert is_child(sub_client, parent)
    assert is_child(sub_server, sub_client)
    parent_greet = [c for c in greet_clients if is_child(c, parent)]
    child_greet = [c for c in greet_clients if is_child(c, sub_server)]
    assert len(parent_greet) == len(child_greet) == 1
    assert sorted(s.parent.span_id for s in greet_servers) == sorted(
        c.context.span_id for c in greet_clients), "each activity runs under its CLIENT span"
    attributes = parent.attributes or {}
    assert attributes["durabletask.type"] == "orchestration"
    assert attributes["durabletask.task.name"] == "family"
    assert attributes["durabletask.task.instance_id"] == instance_id
    assert attributes["durabletask.task.status"] == "Completed"
    assert (parent_greet[0].attributes or {})["durabletask.task.task_id"] == "1"
    assert (sub_server.attributes or {})["durabletask.task.instance_id"] == (
        sub_client.attributes or {})["durabletask.task.instance_id"]
    assert parent.start_time <= timer.start_time
    assert timer.end_time <= parent.end_time


def _chain(ctx: task.OrchestrationContext, count: int):
    results = []
    for i in range(count):
        results.append((yield ctx.call_activity(greet, input=str(i))))
        yield ctx.create_timer(timedelta(milliseconds=1))
    return results


@pytest.mark.parametrize(
    "cache",
    [
        pytest.param(OrchestrationCacheOptions(), id="cache"),
        pytest.param(OrchestrationCacheOptions(always_replay=True), id="always-replay"),
        # One cached orchestration for three running ones: most episodes miss the cache,
        # fetch the history and replay it.
        pytest.param(OrchestrationCacheOptions(max_size=1), id="cache-misses"),
    ],
)
def test_replays_and_cache_misses_never_duplicate_a_span(spans, run_worker, dt_client, cache):
    run_worker([_chain], [greet], orchestration_cache=cache)
    ids = [dt_client.schedule_new_orchestration(_chain, input=4) for _ in range(3)]
    for instance_id in ids:
        _completed(dt_client, instance_id)
    for instance_id in ids:
        _wait_for(spans, "orchestration:_chain", instance_id=instance_id)
    found = durable(spans.get_finished_spans())

    for instance_id in ids:
        mine = [s for s in found
                if (s.attributes or {}).get("durabletask.task.instance_id") == instance_id]
        counts = {name: len(named(mine, name)) for name in {s.name for s in mine}}
        assert counts == {
            "create_orchestration:_chain": 1, "orchestration:_chain": 1,
            "activity:greet": 8, "orchestration:_chain:timer": 4,
        }, describe(mine)
    assert len({(s.context.trace_id, s.context.span_id) for s in found}) == len(found)


def test_failures_mark_their_spans(spans, run_worker, dt_client):
    run_worker([fails], [boom])
    instance_id = dt_client.schedule_new_orchestration(fails)
    _completed(dt_client, instance_id)
    _wait_for(spans, "orchestration:fails")
    found = durable(spans.get_finished_spans())

    orchestration = one(found, "orchestration:fails", SpanKind.SERVER)
    activity_client = one(found, "activity:boom", SpanKind.CLIENT)
    activity_server = one(found, "activity:boom", SpanKind.SERVER)
    assert orchestration.status.status_code is StatusCode.ERROR
    assert "gave up" in (orchestration.status.description or "")
    assert (orchestration.attributes or {})["durabletask.task.status"] == "Failed"
    assert activity_server.status.status_code is StatusCode.ERROR
    assert "no luck" in (activity_server.status.description or "")
    assert activity_client.status.status_code is StatusCode.ERROR


def waits_then_notifies(ctx: task.OrchestrationContext, target: str):
    yield ctx.wait_for_external_event("go")
    ctx.send_event(target, "done", data=1)
    return "sent"


def test_events_raised_by_a_client_and_sent_by_an_orchestration(spans, run_worker, dt_client):
    run_worker([waits_then_notifies], [])
    instance_id = dt_client.schedule_new_orchestration(waits_then_notifies, input="elsewhere")
    dt_client.wait_for_orchestration_start(instance_id, timeout=TIMEOUT)
    dt_client.raise_orchestration_event(instance_id, "go")
    _completed(dt_client, instance_id)
    _wait_for(spans, "orchestration:waits_then_notifies")
    found = durable(spans.get_finished_spans())

    raised = one(found, "orchestration_event:go", SpanKind.PRODUCER)
    sent = one(found, "orchestration_event:done", SpanKind.PRODUCER)
    orchestration = one(found, "orchestration:waits_then_notifies", SpanKind.SERVER)
    assert (raised.attributes or {})["durabletask.event.target_instance_id"] == instance_id
    assert (sent.attributes or {})["durabletask.event.target_instance_id"] == "elsewhere"
    assert is_child(sent, orchestration)


def test_propagate_only_mode_emits_no_spans_but_carries_the_callers_context(
    spans, run_worker, sidecar,
):
    # 1.12.0's emit_trace_spans=False: no span of the SDK, the caller's context travels on.
    tracer = trace.get_tracer("tests")
    seen: list[int] = []

    def traced(ctx: task.ActivityContext, _: object) -> str:
        with tracer.start_as_current_span("user work") as span:
            seen.append(span.get_span_context().trace_id)
        return "ok"

    def calls_traced(ctx: task.OrchestrationContext, _: object):
        return (yield ctx.call_activity(traced))

    run_worker([calls_traced], [traced], emit_trace_spans=False)
    with client.TaskHubGrpcClient(host_address=sidecar.address, emit_trace_spans=False) as c:
        with tracer.start_as_current_span("caller") as caller:
            instance_id = c.schedule_new_orchestration(calls_traced)
        _completed(c, instance_id)

    user_work = poll_until(lambda: named(spans.get_finished_spans(), "user work"),
                           timeout=TIMEOUT, message="the activity's own span")[0]
    assert durable(spans.get_finished_spans()) == []
    assert seen == [caller.get_span_context().trace_id]
    assert user_work.parent is not None
    assert user_work.parent.span_id == caller.get_span_context().span_id


def test_an_orchestration_started_without_context_still_has_one_trace(
    spans, run_worker, sidecar,
):
    # A client without tracing (emit off and no current span) sends no trace context; the
    # orchestration's spans still form one tree (a trace id derived from the execution).
    run_worker([family, child], [greet])
    with client.TaskHubGrpcClient(host_address=sidecar.address, emit_trace_spans=False) as c:
        instance_id = c.schedule_new_orchestration(family)
        _completed(c, instance_id)
    _wait_for(spans, "orchestration:family")
    found = durable(spans.get_finished_spans())

    root = one(found, "orchestration:family", SpanKind.SERVER)
    assert root.parent is None
    assert len(found) == 8, describe(found)
    assert {s.context.trace_id for s in found} == {root.context.trace_id}


class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        value = (self.get_state(int) or 0) + amount
        self.set_state(value)
        return value


def test_entity_operations_get_server_spans(spans, make_worker, dt_client):
    worker = make_worker()
    worker.add_entity(Counter)
    worker.start()
    entity_id = entities.EntityInstanceId("Counter", "k")
    dt_client.signal_entity(entity_id, "add", input=2)
    operation = _wait_for(spans, "entity:counter:add")[0]

    assert operation.kind is SpanKind.SERVER
    assert (operation.attributes or {})["durabletask.entity.operation"] == "add"
    assert (operation.attributes or {})["durabletask.task.instance_id"] == str(entity_id)


def counts_down(ctx: task.OrchestrationContext, left: int):
    if left > 0:
        ctx.continue_as_new(left - 1)
        return None
    return "done"


def test_each_execution_after_continue_as_new_gets_its_own_span(spans, run_worker, dt_client):
    run_worker([counts_down], [])
    instance_id = dt_client.schedule_new_orchestration(counts_down, input=2)
    _completed(dt_client, instance_id)
    executions = _wait_for(spans, "orchestration:counts_down", count=3)
    schedule = one(durable(spans.get_finished_spans()), "create_orchestration:counts_down")

    assert len(executions) == 3
    assert len({s.context.span_id for s in executions}) == 3
    assert all(is_child(s, schedule) for s in executions), "the parent context carries over"
