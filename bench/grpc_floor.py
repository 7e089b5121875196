"""What gRPC itself costs on this machine: the floor under every other figure.

A trivial server (``grpc.aio``, as our sidecar; or the synchronous server, as the
official test sidecar) runs in a child process; this process calls it. Nothing of
durabletask is involved. Printed, one JSON line each:

* ``unary_sequential``: one unary call after the other (sync client): p50 round trip.
* ``unary_concurrent``: 8 concurrent ``grpc.aio`` callers: calls/s and CPU per call
  in the client and in the server process.
* ``stream``: a server-streaming call pushing messages as fast as they are read:
  messages/s and CPU per message on both sides.
* ``bidi_acked``: one bidirectional stream carrying messages from 8 concurrent callers,
  each waiting for the server's acknowledgement before sending its next (the shape of our
  completion stream): messages/s and CPU per acknowledged message on both sides.
* ``bounds``: what those costs allow for the scenarios of ``bench.run_all`` (and
  ``sidecar_min_cpu_us_per_hello``: the server's share alone, the least CPU a sidecar on
  this kind of server spends per ``hello`` orchestration), with
  the client, worker and sidecar sharing the machine's cores and doing nothing but
  gRPC. With the completion stream our SDK uses against our sidecar, one ``hello``
  orchestration needs 2 unary calls (schedule, wait), 3 streamed work items and 3
  acknowledged completions on the bidirectional stream, so throughput cannot exceed
  ``cores / (2 x unary CPU + 3 x stream CPU + 3 x acked CPU)``; a fan-out activity needs 1
  streamed item and 1 acknowledged completion. The ``*_unary`` figures are the standard
  protocol's (completions as unary calls: 5 unary calls per hello, 1 per fan-out activity),
  what the official SDK costs any sidecar. End to end, one orchestration takes at least 4
  sequential round trips plus 3 one-way pushes (each counted as half a round trip), and one
  chain step 2 round trips plus 2 pushes. These are estimates of a floor, not predictions.

``python -m bench.grpc_floor [aio|sync|bridged]`` (default ``aio``). ``bridged`` is the
synchronous server with every handler handing its work to an asyncio loop in another thread
and waiting for the answer (per unary call and per acknowledged message; the streamed
messages are produced on that loop and taken from a thread-safe queue): what a synchronous
server in front of an asyncio core, as our sidecar's, would cost.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from concurrent import futures
from typing import Any

import grpc
import grpc.aio

_SERVICE = "floor.Floor"
_ECHO = f"/{_SERVICE}/Echo"
_PUSH = f"/{_SERVICE}/Push"
_ACK = f"/{_SERVICE}/Ack"
_PAYLOAD = b"x" * 64
_SEQUENTIAL_CALLS = 2000
_CONCURRENT_CALLS = 8000
_CONCURRENCY = 8
_STREAM_MESSAGES = 20000
_WARM_UP_CALLS = 300
_HELLO_UNARY_CALLS = 5  # the standard protocol: schedule, wait and three completions
_HELLO_STREAMED_UNARY_CALLS = 2  # with the completion stream: schedule and wait
_HELLO_STREAM_MESSAGES = 3
_HELLO_ACKED_MESSAGES = 3  # the three completions, on the completion stream
_LATENCY_ROUND_TRIPS = 4
_CHAIN_STEP_ROUND_TRIPS = 2
_CHAIN_STEP_STREAM_MESSAGES = 2


def _echo(request: bytes, context: Any) -> bytes:
    return request


def _push(request: bytes, context: Any) -> Any:
    for _ in range(int(request)):
        yield _PAYLOAD


def _ack(request_iterator: Any, context: Any) -> Any:
    yield from request_iterator


async def _ack_async(request_iterator: Any, context: Any) -> Any:
    async for request in request_iterator:
        yield request


# Coroutines without awaits on purpose: grpc.aio runs them on its loop, as our sidecar's.
async def _echo_async(request: bytes, context: Any) -> bytes:  # noqa: ASYNC124
    return request


async def _push_async(request: bytes, context: Any) -> Any:  # noqa: ASYNC124
    for _ in range(int(request)):
        yield _PAYLOAD


def _handlers(asynchronous: bool) -> grpc.GenericRpcHandler:
    echo, push = (_echo_async, _push_async) if asynchronous else (_echo, _push)
    return grpc.method_handlers_generic_handler(_SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Push": grpc.unary_stream_rpc_method_handler(push),
        "Ack": grpc.stream_stream_rpc_method_handler(_ack_async if asynchronous else _ack),
    })


def _serve_sync() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    server.add_generic_rpc_handlers([_handlers(asynchronous=False)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(None)


class _Bridge:
    """Handlers of a synchronous server that do their work on an asyncio loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def _on_loop(self, value: bytes) -> bytes:
        return asyncio.run_coroutine_threadsafe(_echo_async(value, None), self.loop).result()

    def echo(self, request: bytes, context: Any) -> bytes:
        return self._on_loop(request)

    def push(self, request: bytes, context: Any) -> Any:
        ready: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

        async def produce(count: int) -> None:  # noqa: ASYNC124 - a producer on the loop
            for _ in range(count):
                ready.put(_PAYLOAD)
            ready.put(None)

        asyncio.run_coroutine_threadsafe(produce(int(request)), self.loop)
        while (message := ready.get()) is not None:
            yield message

    def ack(self, request_iterator: Any, context: Any) -> Any:
        for request in request_iterator:
            yield self._on_loop(request)


def _serve_bridged() -> None:
    bridge = _Bridge()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(_SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(bridge.echo),
        "Push": grpc.unary_stream_rpc_method_handler(bridge.push),
        "Ack": grpc.stream_stream_rpc_method_handler(bridge.ack),
    })])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(None)


async def _serve_aio() -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_handlers(asynchronous=True)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop(None)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sequential(address: str) -> dict[str, Any]:
    with grpc.insecure_channel(address) as channel:
        echo = channel.unary_unary(_ECHO)
        for _ in range(_WARM_UP_CALLS):
            echo(_PAYLOAD)
        rounds = []
        for _ in range(_SEQUENTIAL_CALLS):
            started = time.perf_counter()
            echo(_PAYLOAD)
            rounds.append(time.perf_counter() - started)
    return {"case": "unary_sequential", "calls": _SEQUENTIAL_CALLS,
            "p50_us": round(1e6 * statistics.median(rounds), 1)}


async def _concurrent(address: str, server_pid: int) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        echo = channel.unary_unary(_ECHO)
        for _ in range(_WARM_UP_CALLS):
            await echo(_PAYLOAD)

        async def caller(calls: int) -> None:
            for _ in range(calls):
                await echo(_PAYLOAD)

        server_cpu, client_cpu = _cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*[caller(_CONCURRENT_CALLS // _CONCURRENCY)
                               for _ in range(_CONCURRENCY)])
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = _cpu_seconds(server_pid) - server_cpu
    return {"case": "unary_concurrent", "calls": _CONCURRENT_CALLS, "concurrency": _CONCURRENCY,
            "rate": round(_CONCURRENT_CALLS / seconds),
            "client_cpu_us": round(1e6 * client_cpu / _CONCURRENT_CALLS, 1),
            "server_cpu_us": round(1e6 * server_cpu / _CONCURRENT_CALLS, 1)}


async def _stream(address: str, server_pid: int) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        push = channel.unary_stream(_PUSH)
        async for _ in push(str(_WARM_UP_CALLS).encode()):
            pass
        server_cpu, client_cpu = _cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        async for _ in push(str(_STREAM_MESSAGES).encode()):
            pass
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = _cpu_seconds(server_pid) - server_cpu
    return {"case": "stream", "messages": _STREAM_MESSAGES,
            "rate": round(_STREAM_MESSAGES / seconds),
            "client_cpu_us": round(1e6 * client_cpu / _STREAM_MESSAGES, 1),
            "server_cpu_us": round(1e6 * server_cpu / _STREAM_MESSAGES, 1)}


async def _bidi_acked(address: str, server_pid: int) -> dict[str, Any]:
    """8 callers share one bidi stream; each awaits the echo of its message (an ack)."""
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.stream_stream(_ACK)()
        waiting: dict[bytes, asyncio.Future[None]] = {}
        lock = asyncio.Lock()

        async def read() -> None:
            while (message := await call.read()) is not grpc.aio.EOF:
                waiting.pop(message).set_result(None)

        async def caller(index: int, calls: int) -> None:
            for number in range(calls):
                key = f"{index}:{number}".encode()
                done = waiting[key] = asyncio.get_running_loop().create_future()
                async with lock:
                    await call.write(key)
                await done

        reader = asyncio.ensure_future(read())
        await caller(-1, _WARM_UP_CALLS)
        server_cpu, client_cpu = _cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*[caller(index, _CONCURRENT_CALLS // _CONCURRENCY)
                               for index in range(_CONCURRENCY)])
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = _cpu_seconds(server_pid) - server_cpu
        await call.done_writing()
        await reader
    return {"case": "bidi_acked", "messages": _CONCURRENT_CALLS, "concurrency": _CONCURRENCY,
            "rate": round(_CONCURRENT_CALLS / seconds),
            "client_cpu_us": round(1e6 * client_cpu / _CONCURRENT_CALLS, 1),
            "server_cpu_us": round(1e6 * server_cpu / _CONCURRENT_CALLS, 1)}


def bounds(sequential: dict[str, Any], concurrent: dict[str, Any],
           stream: dict[str, Any], acked: dict[str, Any]) -> dict[str, Any]:
    """The best figures these gRPC costs allow for hello, fanout, chain and latency."""
    cores = os.cpu_count() or 1
    unary_cpu = concurrent["client_cpu_us"] + concurrent["server_cpu_us"]
    stream_cpu = stream["client_cpu_us"] + stream["server_cpu_us"]
    acked_cpu = acked["client_cpu_us"] + acked["server_cpu_us"]
    per_hello_us = (_HELLO_STREAMED_UNARY_CALLS * unary_cpu
                    + _HELLO_STREAM_MESSAGES * stream_cpu + _HELLO_ACKED_MESSAGES * acked_cpu)
    per_hello_unary_us = _HELLO_UNARY_CALLS * unary_cpu + _HELLO_STREAM_MESSAGES * stream_cpu
    round_trip_us = sequential["p50_us"]
    latency_us = (_LATENCY_ROUND_TRIPS + _HELLO_STREAM_MESSAGES / 2) * round_trip_us
    step_us = (_CHAIN_STEP_ROUND_TRIPS + _CHAIN_STEP_STREAM_MESSAGES / 2) * round_trip_us
    sidecar_us = (_HELLO_STREAMED_UNARY_CALLS * concurrent["server_cpu_us"]
                  + _HELLO_STREAM_MESSAGES * stream["server_cpu_us"]
                  + _HELLO_ACKED_MESSAGES * acked["server_cpu_us"])
    sidecar_unary_us = (_HELLO_UNARY_CALLS * concurrent["server_cpu_us"]
                        + _HELLO_STREAM_MESSAGES * stream["server_cpu_us"])
    return {"case": "bounds", "cores": cores,
            "hello_cpu_us_per_orchestration": round(per_hello_us),
            "sidecar_min_cpu_us_per_hello": round(sidecar_us),
            "hello_max_rate": round(cores * 1e6 / per_hello_us),
            "fanout_max_rate": round(cores * 1e6 / (acked_cpu + stream_cpu)),
            "hello_cpu_us_per_orchestration_unary": round(per_hello_unary_us),
            "sidecar_min_cpu_us_per_hello_unary": round(sidecar_unary_us),
            "hello_max_rate_unary": round(cores * 1e6 / per_hello_unary_us),
            "fanout_max_rate_unary": round(cores * 1e6 / (unary_cpu + stream_cpu)),
            "chain_min_ms_per_step": round(step_us / 1000, 2),
            "latency_min_p50_ms": round(latency_us / 1000, 2)}


def main() -> None:
    """Start the trivial server in a child process and print the measurements."""
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-sync":
        _serve_sync()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-aio":
        asyncio.run(_serve_aio())
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-bridged":
        _serve_bridged()
        return
    kind = sys.argv[1] if len(sys.argv) > 1 else "aio"
    if kind not in ("aio", "sync", "bridged"):
        raise SystemExit("usage: python -m bench.grpc_floor [aio|sync|bridged]")
    with subprocess.Popen([sys.executable, "-m", "bench.grpc_floor", f"--serve-{kind}"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as server:
        assert server.stdout is not None
        assert server.stdin is not None
        address = f"127.0.0.1:{int(server.stdout.readline())}"
        try:
            sequential = _sequential(address)
            concurrent = asyncio.run(_concurrent(address, server.pid))
            stream = asyncio.run(_stream(address, server.pid))
            acked = asyncio.run(_bidi_acked(address, server.pid))
        finally:
            server.stdin.close()
            server.wait(timeout=30)
    floor = bounds(sequential, concurrent, stream, acked)
    for line in (sequential, concurrent, stream, acked, floor):
        print(json.dumps({"scenario": "grpc_floor", "server": kind, **line}), flush=True)


if __name__ == "__main__":
    main()
