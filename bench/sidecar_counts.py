"""What our sidecar does per item: RPCs, messages, asyncio tasks, loop turns, store calls.

``python -m bench.sidecar_counts [--scenario hello|fanout] [--n N] [--store memory|sqlite]
[--sdk ours|official]`` runs the scenario (``bench/driver.py``, in its own process as in
``make bench``) against our sidecar program started in a child process with counters
installed (this file, ``--serve``), and prints one JSON line with each count divided by the
items run: orchestrations for ``hello``, activities for ``fanout`` (the driver's untimed
warm-up orchestration, one activity, included). The counters wrap public seams only:
a ``grpc.aio`` server interceptor (RPCs and messages by method), the event loop's
``create_task`` and ``_run_once`` (tasks and loop turns), and the store's methods. They cost
CPU, so the run's timings are not comparable with ``make bench``; the counts are.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_COUNTS_ENV = "DT_BENCH_COUNTS_FILE"


def _count_calls(owner: type, name: str, counter: collections.Counter[str], key: str) -> None:
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter[key] += 1
        return original(*args, **kwargs)

    setattr(owner, name, counted)


def _counted_bidi(inner: Callable[..., Any], method: str,
                  counter: collections.Counter[str]) -> Callable[..., Any]:
    """Count a bidirectional stream's messages each way (and completions per batch)."""
    async def requests(iterator: Any) -> Any:
        async for batch in iterator:
            counter[f"received.{method}"] += 1
            counter[f"received.{method}.items"] += len(getattr(batch, "completions", ()))
            yield batch

    async def bidi(request_iterator: Any, context: Any) -> Any:
        async for item in inner(requests(request_iterator), context):
            counter[f"streamed.{method}"] += 1
            counter[f"streamed.{method}.items"] += len(getattr(item, "acks", ()))
            yield item

    return bidi


def _install(counter: collections.Counter[str]) -> None:
    """Wrap the seams that are counted (in the sidecar process only)."""
    import grpc
    import grpc.aio

    from durabletask.sidecar.store.memory import MemoryStore
    from durabletask.sidecar.store.sqlite import SqliteStore

    create_task = asyncio.BaseEventLoop.create_task

    def counted_task(self: asyncio.BaseEventLoop, coro: Any, **kwargs: Any) -> Any:
        counter["tasks"] += 1
        counter[f"tasks.{getattr(coro, '__qualname__', type(coro).__name__)}"] += 1
        return create_task(self, coro, **kwargs)

    asyncio.BaseEventLoop.create_task = counted_task  # type: ignore[method-assign]
    _count_calls(asyncio.BaseEventLoop, "_run_once", counter, "loop_turns")
    for store in (MemoryStore, SqliteStore):
        for name in ("create_instance", "get_instance", "get_history", "append_inbox",
                     "load_episode", "commit_episode", "commit_activity_result",
                     "drop_activity_task", "query_instances"):
            _count_calls(store, name, counter, f"store.{name}")
    _count_calls(SqliteStore, "group", counter, "store.group")  # one transaction each

    class Counting(grpc.aio.ServerInterceptor):
        async def intercept_service(self, continuation: Callable[..., Any],
                                    details: grpc.HandlerCallDetails) -> Any:
            method = details.method.rsplit("/", 1)[-1]
            counter[f"rpc.{method}"] += 1
            handler = await continuation(details)
            if handler is None or not handler.response_streaming:
                return handler
            if handler.request_streaming:
                return handler._replace(stream_stream=_counted_bidi(
                    handler.stream_stream, method, counter))
            inner = handler.unary_stream

            async def stream(request: Any, context: Any) -> Any:
                async for item in inner(request, context):
                    counter[f"streamed.{method}"] += 1
                    yield item

            return handler._replace(unary_stream=stream)

    original_server = grpc.aio.server

    def server(*args: Any, **kwargs: Any) -> Any:
        kwargs["interceptors"] = [*kwargs.get("interceptors", ()), Counting()]
        return original_server(*args, **kwargs)

    grpc.aio.server = server


def _serve(argv: list[str]) -> int:
    counter: collections.Counter[str] = collections.Counter()
    _install(counter)
    path = os.environ[_COUNTS_ENV]
    atexit.register(lambda: Path(path).write_text(json.dumps(dict(counter))))
    from durabletask.sidecar.__main__ import main

    return main(argv)


SCENARIOS = {"hello": 1000, "fanout": 5000}
"""The scenarios counted, with their default sizes."""


def counted_run(scenario: str, n: int, store: str, sdk: str) -> dict[str, Any]:
    """Runs ``scenario`` N against a counted sidecar; returns its line (counts per item)."""
    from bench.processes import MAX_HISTORY_SIZE, official_python, run_driver

    with tempfile.TemporaryDirectory(prefix="dt-bench-counts-") as tmp:
        counts_file = Path(tmp) / "counts.json"
        cmd = [sys.executable, "-m", "bench.sidecar_counts", "--serve", "--", "--port", "0",
               "--log-level", "WARNING", "--max-history-size", str(MAX_HISTORY_SIZE)]
        cmd += ["--db", str(Path(tmp) / "counts.db")] if store == "sqlite" else ["--memory"]
        env = {**os.environ, _COUNTS_ENV: str(counts_file)}
        root = Path(__file__).resolve().parent.parent
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
        try:
            assert proc.stdout is not None
            ready = proc.stdout.readline()
            if " on " not in ready:
                raise RuntimeError(f"the counted sidecar did not start: {ready!r}")
            address = ready.split(" on ", 1)[1].split(" ", 1)[0]
            python = Path(sys.executable) if sdk == "ours" else official_python()
            workdir = Path(tmp) / "driver"
            workdir.mkdir()
            line = run_driver(python, workdir, address, scenario, n, proc.pid, 600)
        finally:
            proc.terminate()  # SIGTERM: the program stops cleanly and writes its counts
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        counts = json.loads(counts_file.read_text())
    per = n + 1  # the driver's warm-up orchestration (one activity)
    unit = "per_orchestration" if scenario == "hello" else "per_activity"
    return {"scenario": "sidecar_counts", "counted": scenario, "sdk": sdk, "store": store,
            "n": n, "rate_while_counting": line["rate"],
            unit: {k: round(v / per, 2) for k, v in sorted(counts.items())},
            **_per_message(counts)}


def _per_message(counts: dict[str, int]) -> dict[str, float]:
    """Completions per completion-stream message, and acknowledgements per ack message."""
    shares = {}
    for field, items, messages in (
            ("completions_per_message", "received.Complete.items", "received.Complete"),
            ("acks_per_message", "streamed.Complete.items", "streamed.Complete")):
        if counts.get(messages):
            shares[field] = round(counts.get(items, 0) / counts[messages], 2)
    return shares


def main() -> None:
    """Runs the counted ``hello`` and prints the JSON line (or serves, with ``--serve``)."""
    if "--serve" in sys.argv:
        rest = sys.argv[sys.argv.index("--") + 1:]
        sys.exit(_serve(rest))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), default="hello")
    parser.add_argument("--n", type=int, help="size (default: 1000 hello, 5000 fanout)")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--sdk", choices=("ours", "official"), default="ours")
    args = parser.parse_args()
    n = args.n or SCENARIOS[args.scenario]
    print(json.dumps(counted_run(args.scenario, n, args.store, args.sdk)), flush=True)


if __name__ == "__main__":
    main()
