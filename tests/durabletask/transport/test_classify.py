"""Outcome classification (R-T1 to R-T4) and the long-poll set."""

from __future__ import annotations

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.transport.classify import (
    LONG_POLL_METHODS,
    Outcome,
    classify_unary,
    is_long_poll,
    normalize_method,
)

GET = "/TaskHubSidecarService/GetInstance"
WAIT = "/TaskHubSidecarService/WaitForInstanceCompletion"


def test_classify_unary_marks_exactly_three_of_34_cases_as_transport():
    transport = {
        (code, method)
        for code in grpc.StatusCode
        for method in (GET, WAIT)
        if classify_unary(method, code) is Outcome.TRANSPORT
    }
    assert len(list(grpc.StatusCode)) == 17
    assert transport == {
        (grpc.StatusCode.UNAVAILABLE, GET),
        (grpc.StatusCode.UNAVAILABLE, WAIT),
        (grpc.StatusCode.DEADLINE_EXCEEDED, GET),
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.OK, Outcome.SUCCESS),
        (grpc.StatusCode.NOT_FOUND, Outcome.RESET),
        (grpc.StatusCode.UNAUTHENTICATED, Outcome.RESET),
        (grpc.StatusCode.INTERNAL, Outcome.RESET),
        (grpc.StatusCode.CANCELLED, Outcome.NEUTRAL),
        (None, Outcome.NEUTRAL),
    ],
)
def test_classify_unary_resets_on_replies_and_is_neutral_on_local_outcomes(code, expected):
    assert classify_unary(GET, code) is expected


def test_classify_unary_treats_long_poll_deadline_as_neutral_for_bytes_method():
    method = WAIT.encode()
    assert classify_unary(method, grpc.StatusCode.DEADLINE_EXCEEDED) is Outcome.NEUTRAL
    assert normalize_method(method) == WAIT
    assert normalize_method("GetInstance") == GET
    assert is_long_poll("WaitForInstanceStart")


def test_long_poll_set_covers_every_wait_for_rpc_of_the_proto():
    # Fails when the proto gains a WaitFor* RPC, so the explicit set gets reviewed.
    names = {name for name in dir(pb_grpc.TaskHubSidecarServiceServicer)
             if name.startswith("WaitFor")}
    assert {f"/TaskHubSidecarService/{n}" for n in names} == LONG_POLL_METHODS
