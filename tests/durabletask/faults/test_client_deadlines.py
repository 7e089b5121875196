"""Every client call, unary and streaming, sync and async, ends on a blackholed connection.

The proxy drops every byte of every connection (no FIN, no RST): without a deadline a call
would hang forever. Each call must end with a deadline outcome: ``TimeoutError`` for the
long polls, a ``DEADLINE_EXCEEDED`` error for everything else (``get_orchestration_history``,
a server stream, included).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from durabletask import client
from durabletask.entities import EntityInstanceId
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.helpers.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.slow

SHORT = 0.5
# Recreation off: every call must end by its own deadline, not by a fresh connection.
OPTIONS = GrpcClientResiliencyOptions(default_call_timeout_seconds=SHORT,
                                      channel_recreate_failure_threshold=0)
ENTITY = EntityInstanceId("counter", "k")

# (name, call) for every RPC-backed client method; the same lambdas drive both clients.
CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("schedule_new_orchestration", lambda c: c.schedule_new_orchestration("o")),
    ("get_orchestration_state", lambda c: c.get_orchestration_state("i")),
    ("get_orchestration_history", lambda c: c.get_orchestration_history("i")),
    ("list_instance_ids", lambda c: c.list_instance_ids()),
    ("get_all_orchestration_states", lambda c: c.get_all_orchestration_states()),
    ("wait_for_orchestration_start",
     lambda c: c.wait_for_orchestration_start("i", timeout=SHORT)),
    ("wait_for_orchestration_completion",
     lambda c: c.wait_for_orchestration_completion("i", timeout=SHORT)),
    ("raise_orchestration_event", lambda c: c.raise_orchestration_event("i", "e")),
    ("terminate_orchestration", lambda c: c.terminate_orchestration("i")),
    ("suspend_orchestration", lambda c: c.suspend_orchestration("i")),
    ("resume_orchestration", lambda c: c.resume_orchestration("i")),
    ("rewind_orchestration", lambda c: c.rewind_orchestration("i")),
    ("restart_orchestration", lambda c: c.restart_orchestration("i")),
    ("purge_orchestration", lambda c: c.purge_orchestration("i")),
    # With a ``timeout`` its deadline is that timeout + 30 s (room for a partial answer).
    ("purge_orchestrations_by", lambda c: c.purge_orchestrations_by()),
    ("signal_entity", lambda c: c.signal_entity(ENTITY, "add", 1)),
    ("get_entity", lambda c: c.get_entity(ENTITY)),
    ("get_all_entities", lambda c: c.get_all_entities()),
    ("clean_entity_storage", lambda c: c.clean_entity_storage()),
]


def test_calls_cover_every_public_rpc_method_of_both_clients():
    public = {name for name in vars(client.TaskHubGrpcClient)
              if not name.startswith("_") and callable(getattr(client.TaskHubGrpcClient, name))}
    local = {"close", "resiliency_stats"}
    assert {name for name, _ in CALLS} == public - local
    assert {name for name in vars(client.AsyncTaskHubGrpcClient)
            if not name.startswith("_")} >= {name for name, _ in CALLS}


def _is_deadline(outcome: object) -> bool:
    if isinstance(outcome, TimeoutError):
        return True
    code = getattr(outcome, "code", None)
    return isinstance(outcome, grpc.RpcError) and callable(code) and (
        code() == grpc.StatusCode.DEADLINE_EXCEEDED)


def _outcome(call: Callable[[], Any]) -> object:
    try:
        return call()
    except Exception as exc:  # the assertion names whatever came out
        return exc


@pytest.fixture
def blackholed(sidecar: InMemoryOrchestrationBackend) -> Iterator[TcpProxy]:
    with tcp_proxy(sidecar.port) as proxy:
        yield proxy


def test_every_sync_call_ends_with_a_deadline_on_a_blackholed_connection(blackholed: TcpProxy):
    pool = concurrent.futures.ThreadPoolExecutor(len(CALLS))
    try:
        with client.TaskHubGrpcClient(host_address=blackholed.address,
                                      resiliency_options=OPTIONS) as c:
            assert c.get_orchestration_state("warm-up") is None  # a live connection first
            blackholed.set_mode("blackhole")
            futures = {name: pool.submit(_outcome, lambda call=call: call(c))
                       for name, call in CALLS}
            done, _ = concurrent.futures.wait(futures.values(), timeout=30)
        # Closing the client (above) cancels any call that hung, so no thread is left.
        outcomes = {name: f.result() if f in done else "still running after 30 s"
                    for name, f in futures.items()}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    wrong = {name: repr(o) for name, o in outcomes.items() if not _is_deadline(o)}
    assert wrong == {}


async def test_every_async_call_ends_with_a_deadline_on_a_blackholed_connection(
    blackholed: TcpProxy,
):
    async with client.AsyncTaskHubGrpcClient(host_address=blackholed.address,
                                             resiliency_options=OPTIONS) as c:
        assert await c.get_orchestration_state("warm-up") is None
        blackholed.set_mode("blackhole")
        results = await asyncio.wait_for(
            asyncio.gather(*(call(c) for _, call in CALLS), return_exceptions=True), 30)
    wrong = {name: repr(o) for (name, _), o in zip(CALLS, results) if not _is_deadline(o)}
    assert wrong == {}
