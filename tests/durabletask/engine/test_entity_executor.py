"""The entity executor: a work item in (V1 batch or V2 events), an EntityBatchResult out."""

from __future__ import annotations

import json

from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import entity_batch_scenarios
from tests.durabletask.engine import entity_histories as eh
from tests.durabletask.engine.entity_batch_scenarios import counter

COUNTER = "@counter@k"


class Account(entity_batch_scenarios.Account):
    """The recorded scenarios' account, plus operations whose outcome is not recorded."""

    def leak(self) -> object:
        self.set_state(5)
        return object()

    def store_unserialisable(self) -> None:
        self.set_state(object())

    def _secret(self) -> str:
        return "hidden"


def test_v1_batch_runs_operations_in_order_and_aligns_results():
    result = eh.new_entity_executor(counter).execute(eh.batch(COUNTER, [
        eh.operation("add", 2), eh.operation("add", 3), eh.operation("get"),
    ], state=10), completion_token="tok-1").result

    assert result is not None
    assert eh.outputs(result) == [12, 15, 15]
    assert eh.state_of(result) == 15
    assert result.completionToken == "tok-1"
    assert list(result.operationInfos) == []  # V1: the sidecar routes results by position
    assert not result.HasField("failureDetails")


def test_a_failing_operation_rolls_back_only_its_own_state_and_actions():
    # Official runtime contract: the failed operation's writes and signals are dropped,
    # the operations before and after it keep theirs.
    result = eh.new_entity_executor(counter).execute(eh.batch(COUNTER, [
        eh.operation("add", 1), eh.operation("fail_after_write"), eh.operation("notify", 7),
        eh.operation("add", 1),
    ])).result

    assert result is not None
    assert eh.outputs(result) == [1, ("failed", "builtins.ValueError", "bad amount"), 1, 2]
    assert eh.state_of(result) == 2
    assert [a.WhichOneof("operationActionType") for a in result.actions] == [
        "sendSignal", "startNewOrchestration",
    ]
    signal, start = result.actions
    assert (signal.sendSignal.instanceId, signal.sendSignal.name) == ("@audit@k", "record")
    assert json.loads(signal.sendSignal.input.value) == 7
    assert start.startNewOrchestration.instanceId == "report-1"
    assert [action.id for action in result.actions] == [0, 0]  # official: no ids
    assert start.startNewOrchestration.name == "report"


def test_success_results_are_always_present_and_empty_for_none():
    # The official worker sends result="" (not an absent value) when an operation
    # returns None.
    result = eh.new_entity_executor(Account).execute(
        eh.batch("@account@k", [eh.operation("reset", 3)])).result

    assert result is not None
    success = result.results[0].success
    assert success.HasField("result")
    assert success.result.value == ""
    assert success.startTimeUtc.ToDatetime() == eh.T0_UTC.replace(tzinfo=None)
    assert success.endTimeUtc.ToDatetime() == eh.T0_UTC.replace(tzinfo=None)


def test_class_entities_dispatch_by_exact_method_name_with_official_argument_rules():
    executor = eh.new_entity_executor(Account)
    result = executor.execute(eh.batch("@account@k", [
        eh.operation("deposit", {"value": 5}),  # decoded into the annotated dataclass
        eh.operation("balance"),  # no parameter: called without input
        eh.operation("reset"),  # optional parameter and no input: its default is used
        eh.operation("echo"),  # required parameter and no input: called with None
        eh.operation("Balance"),  # names are matched exactly, as the official worker does
    ], state=1)).result

    assert result is not None
    assert eh.outputs(result)[:4] == [6, 6, None, ["got", None]]
    assert eh.outputs(result)[4] == (
        "failed", "builtins.AttributeError",
        "Entity '@account@k' does not have operation 'Balance'")
    assert eh.state_of(result) == 0


def test_unknown_private_and_non_callable_operations_fail_with_official_errors():
    result = eh.new_entity_executor(Account).execute(eh.batch("@account@k", [
        eh.operation("missing"), eh.operation("_secret"), eh.operation("limit"),
    ])).result

    assert result is not None
    assert eh.outputs(result) == [
        ("failed", "builtins.AttributeError",
         "Entity '@account@k' does not have operation 'missing'"),
        ("failed", "builtins.AttributeError",
         "Entity '@account@k' does not have operation '_secret'"),
        ("failed", "builtins.TypeError", "Entity operation 'limit' is not callable"),
    ]


def test_unserialisable_results_and_states_fail_the_operation_and_roll_it_back():
    result = eh.new_entity_executor(Account).execute(eh.batch("@account@k", [
        eh.operation("leak"), eh.operation("store_unserialisable"), eh.operation("balance"),
    ], state=1)).result

    assert result is not None
    assert [o[:2] for o in eh.outputs(result)[:2]] == [
        ("failed", "builtins.TypeError"), ("failed", "builtins.TypeError"),
    ]
    assert eh.outputs(result)[2] == 1
    assert eh.state_of(result) == 1


def test_an_unregistered_entity_fails_each_operation_like_the_official_worker():
    # Official type and message; other SDKs compare these strings.
    result = eh.new_entity_executor(counter).execute(
        eh.batch("@nobody@k", [eh.operation("add", 1), eh.operation("get")])).result

    assert result is not None
    expected = ("failed", "durabletask.worker.EntityNotRegisteredError",
                "Entity function named 'nobody' was not registered!")
    assert eh.outputs(result) == [expected, expected]


def test_entity_names_match_case_insensitively_and_custom_names_are_honoured():
    executor = eh.new_entity_executor(("MyCounter", counter))
    result = executor.execute(eh.batch("@MYCOUNTER@k", [eh.operation("add", 4)])).result

    assert result is not None
    assert eh.outputs(result) == [4]


def test_v2_requests_become_a_batch_with_operation_infos_for_routing():
    request = eh.request_v2(COUNTER, [
        eh.signaled("add", 1, request_id="s1"),
        eh.called("get", "orch-1", request_id="c1", parent_execution="exec-9"),
        eh.called("get", "orch-2", request_id="c2"),
    ], state=5)

    result = eh.new_entity_executor(counter).execute(request, "tok").result

    assert result is not None
    assert eh.outputs(result) == [6, 6, 6]
    infos = [(i.requestId, i.HasField("responseDestination")) for i in result.operationInfos]
    assert infos == [("s1", False), ("c1", True), ("c2", True)]
    first_call, second_call = result.operationInfos[1:]
    assert first_call.responseDestination.instanceId == "orch-1"
    assert first_call.responseDestination.executionId.value == "exec-9"
    # The official worker writes the execution id even when the message had none.
    assert second_call.responseDestination.HasField("executionId")
    assert second_call.responseDestination.executionId.value == ""


def test_v2_events_that_are_not_operations_are_skipped():
    other = pb.HistoryEvent(eventId=-1)
    other.entityLockRequested.criticalSectionId = "cs"
    request = eh.request_v2(COUNTER, [eh.signaled("add", 2, request_id="s1"), other])

    result = eh.new_entity_executor(counter).execute(request).result

    assert result is not None
    assert eh.outputs(result) == [2]
    assert [i.requestId for i in result.operationInfos] == ["s1"]


def test_an_untouched_state_is_returned_verbatim_and_a_deleted_one_is_absent():
    request = pb.EntityBatchRequest(instanceId=COUNTER, operations=[eh.operation("peek")])
    request.entityState.value = '{"b": 1,   "a": 2}'
    executor = eh.new_entity_executor(("counter", lambda ctx, _: ctx.get_state()))

    untouched = executor.execute(request).result
    deleted = eh.new_entity_executor(counter).execute(
        eh.batch(COUNTER, [eh.operation("delete")], state=3)).result

    assert untouched is not None
    assert untouched.entityState.value == '{"b": 1,   "a": 2}'
    assert deleted is not None
    assert not deleted.HasField("entityState")


def test_a_work_item_that_cannot_run_is_reported_for_abandoning_not_raised():
    # The official worker raises here, which makes its runner abandon the work item.
    outcome = eh.new_entity_executor(counter).execute(
        eh.batch("not-an-entity-id", [eh.operation("add", 1)]))

    assert outcome.result is None
    assert outcome.abandon_reason is not None
    assert "Invalid entity instance ID 'not-an-entity-id'" in outcome.abandon_reason


def test_function_entities_taking_only_the_context_are_called_without_input():
    def pinger(ctx: EntityContext) -> str:
        return ctx.operation

    result = eh.new_entity_executor(pinger).execute(
        eh.batch("@pinger@k", [eh.operation("ping", 1)])).result

    assert result is not None
    assert eh.outputs(result) == ["ping"]


def test_entity_context_identity_is_the_entity_being_executed():
    seen = []

    def probe(ctx: EntityContext, _):
        seen.append((ctx.orchestration_id, ctx.entity_id, ctx.operation))

    eh.new_entity_executor(probe).execute(eh.batch("@Probe@Key", [eh.operation("look")]))

    assert seen == [("@probe@Key", EntityInstanceId("probe", "Key"), "look")]
