"""Resiliency probes (issue 11): real processes, the real TCP proxy, DEFAULT options.

``python -m bench.resiliency [PROBE ...] [--trials N] [--minutes M]`` prints one JSON line
per measurement. Probes (all by default except the two that need the official SDK's venv):

* ``blackhole``: an idle worker's connection is blackholed (no FIN, no RST); how long until
  an orchestration scheduled at that moment through a healthy client completes (per trial,
  and the median). ``blackhole-official``: the same against the official in-memory sidecar,
  which never redelivers work sent into a dead stream, so an orchestration is scheduled every
  2 s and the first completion counts.
* ``idle-official``: a worker idle for ``--minutes`` on the official in-memory sidecar
  (grpcio's default ping policy): TCP connections, reconnects, GOAWAYs.
* ``client-deadlines``: every client call, sync and async, on a blackholed connection with
  DEFAULT options: how long each took to raise, and what it raised.
* ``recreations``: 100 forced channel recreations of the async client (automatic GC off,
  ``gc.collect()`` never called): open connections and fds after ``close()``.
* ``stop-sigint`` / ``stop-call``: Ctrl-C, or ``stop()``, of a worker running a 5 s activity,
  on a sidecar with ``max_recovery_attempts=0`` (any lost worker fails the instance).
* ``sidecar-restarts``: 7 SIGTERM restarts of the sidecar (SQLite) during an 8 s activity.
* ``sigstop``: one worker SIGSTOPped beside a healthy one, 20 orchestrations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.fault_procs import (
    emit,
    fds,
    official_sidecar,
    our_sidecar,
    poll_completed_any,
    probe_worker,
    wait_completed,
    wait_until,
)
from durabletask import client
from durabletask.grpc_options import GrpcClientResiliencyOptions
from tests.durabletask.helpers.proxy import TcpProxy, tcp_proxy

_ORCHESTRATOR = "run_slow"


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dt-probe-") as tmp:
        yield Path(tmp)


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _blackhole_trial(c: client.TaskHubGrpcClient, proxy: TcpProxy, official: bool) -> float:
    proxy.blackhole_existing()
    started = time.monotonic()
    ids = [c.schedule_new_orchestration(_ORCHESTRATOR, input=0)]
    if not official:
        status = wait_completed(c, ids[0], timeout=600)
        assert status == "COMPLETED", status
        return time.monotonic() - started
    deadline = started + 900
    while not poll_completed_any(c, ids):
        assert time.monotonic() < deadline, "no orchestration completed within 900 s"
        time.sleep(2.0)
        ids.append(c.schedule_new_orchestration(_ORCHESTRATOR, input=0))
    return time.monotonic() - started


def probe_blackhole(trials: int, official: bool) -> None:
    """Half-open connection of an idle worker: time until scheduled work completes."""
    kind = "official" if official else "ours"
    rng = random.Random()
    with _workdir() as tmp, contextlib.ExitStack() as stack:
        address = (stack.enter_context(official_sidecar()) if official
                   else stack.enter_context(our_sidecar()).address)
        proxy = stack.enter_context(tcp_proxy(_port(address)))
        stack.enter_context(probe_worker(proxy.address, tmp))
        c = stack.enter_context(client.TaskHubGrpcClient(host_address=address))
        assert wait_completed(c, c.schedule_new_orchestration(_ORCHESTRATOR, input=0), 60) == (
            "COMPLETED")
        figures = []
        for trial in range(trials):
            time.sleep(rng.uniform(2.0, 8.0))  # anywhere in the ping and probe cycles
            seconds = _blackhole_trial(c, proxy, official)
            figures.append(seconds)
            emit({"probe": "blackhole", "sidecar": kind, "trial": trial + 1,
                  "completed_s": round(seconds, 2)})
        emit({"probe": "blackhole", "sidecar": kind, "trials": trials,
              "median_s": round(statistics.median(figures), 2),
              "max_s": round(max(figures), 2)})


def _timed(call: Callable[[], object]) -> tuple[float, str]:
    started = time.monotonic()
    try:
        call()
        outcome = "returned"
    except Exception as exc:  # noqa: BLE001 - the probe reports what was raised
        code = getattr(exc, "code", None)
        outcome = type(exc).__name__ + (f" {code().name}" if callable(code) else "")
    return time.monotonic() - started, outcome


async def _timed_async(call: Callable[[], object]) -> tuple[float, str]:
    started = time.monotonic()
    try:
        await call()  # type: ignore[misc]
        outcome = "returned"
    except Exception as exc:  # noqa: BLE001 - the probe reports what was raised
        code = getattr(exc, "code", None)
        outcome = type(exc).__name__ + (f" {code().name}" if callable(code) else "")
    return time.monotonic() - started, outcome


def probe_client_deadlines() -> None:
    """Every client call on a blackholed connection, default options: when each raises."""
    import concurrent.futures

    from tests.durabletask.faults.test_client_deadlines import CALLS

    def report(kind: str, results: list[tuple[float, str]]) -> None:
        for (name, _), (seconds, outcome) in zip(CALLS, results):
            emit({"probe": "client_deadlines", "client": kind, "call": name,
                  "raised_after_s": round(seconds, 2), "outcome": outcome})

    with our_sidecar() as sidecar, tcp_proxy(sidecar.port) as proxy:
        with client.TaskHubGrpcClient(host_address=proxy.address) as c:
            c.get_orchestration_state("warm-up")
            proxy.set_mode("blackhole")
            with concurrent.futures.ThreadPoolExecutor(len(CALLS)) as pool:
                report("sync", list(pool.map(lambda item: _timed(lambda: item[1](c)), CALLS)))
        proxy.set_mode("pass")

        async def run_async() -> list[tuple[float, str]]:
            async with client.AsyncTaskHubGrpcClient(host_address=proxy.address) as ac:
                await ac.get_orchestration_state("warm-up")
                proxy.set_mode("blackhole")
                return list(await asyncio.gather(
                    *(_timed_async(lambda call=call: call(ac)) for _, call in CALLS)))

        report("async", asyncio.run(run_async()))


def probe_idle_official(minutes: float) -> None:
    """An idle worker on the official sidecar: no GOAWAY, no reconnect."""
    with _workdir() as tmp, official_sidecar() as address, tcp_proxy(_port(address)) as proxy:
        with probe_worker(proxy.address, tmp) as worker, \
                client.TaskHubGrpcClient(host_address=address) as c:
            time.sleep(minutes * 60)
            status = wait_completed(c, c.schedule_new_orchestration(_ORCHESTRATOR, input=0), 60)
            report = worker.finish()
        stderr = worker.stderr().lower()
        stats = report.get("stats", {})
        emit({"probe": "idle", "sidecar": "official", "minutes": minutes,
              "tcp_connections": proxy.accepted, "reconnects": stats.get("reconnects"),
              "stream_errors": stats.get("stream_errors"),
              "silent_disconnects": stats.get("silent_disconnects"),
              "goaway": "goaway" in stderr or "too many pings" in stderr,
              "after_idle": status})


async def _recreations(address: str, proxy: TcpProxy, n: int) -> dict[str, object]:
    warm = client.AsyncTaskHubGrpcClient(host_address=proxy.address)
    await warm.get_orchestration_state("warm-up")
    await warm.close()
    wait_until(lambda: proxy.live == 0, 10)
    baseline = fds()
    forced = GrpcClientResiliencyOptions(channel_recreate_failure_threshold=1,
                                         min_recreate_interval_seconds=0.0)
    c = client.AsyncTaskHubGrpcClient(host_address=proxy.address, resiliency_options=forced)
    for _ in range(n):
        proxy.reset_all()
        proxy.set_mode("refuse")
        with contextlib.suppress(Exception):
            await c.raise_orchestration_event("probe", "e")  # fails: a recreation
        proxy.set_mode("pass")
        await c.get_orchestration_state("probe")
    stats = c.resiliency_stats()
    await c.close()
    closed = wait_until(lambda: proxy.live == 0, 10)
    wait_until(lambda: fds() <= baseline, 10)
    return {"probe": "async_recreations", "n": n, "recreations": stats["recreations"],
            "connections_after_close": proxy.live, "all_closed": closed,
            "fds_baseline": baseline, "fds_after": fds(), "gc_collect_called": False}


def probe_recreations(n: int) -> None:
    """Forced recreations of the async client: connections and fds back to baseline."""
    gc.collect()
    gc.disable()
    try:
        with our_sidecar() as sidecar, tcp_proxy(sidecar.port) as proxy:
            emit(asyncio.run(_recreations(sidecar.address, proxy, n)))
    finally:
        gc.enable()


def probe_clean_stop(how: str) -> None:
    """Ctrl-C or stop() of a worker running a 5 s activity: kept, once, no loss."""
    with _workdir() as tmp, our_sidecar(max_recovery_attempts=0) as sidecar, \
            client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        with probe_worker(sidecar.address, tmp, "stopping") as first:
            instance_id = c.schedule_new_orchestration(_ORCHESTRATOR, input=5.0)
            assert wait_until(lambda: first.runs("start") == 1, 60)
            stopping = time.monotonic()
            report = first.finish(signal.SIGINT if how == "sigint" else None)
            stopped = time.monotonic() - stopping
        with probe_worker(sidecar.address, tmp, "successor"):
            status = wait_completed(c, instance_id, timeout=120)
            state = c.get_orchestration_state(instance_id)
        emit({"probe": "clean_stop", "how": how, "activity_s": 5.0, "status": status,
              "output": state.serialized_output if state else None,
              "activity_starts": first.runs("start"), "activity_ends": first.runs("end"),
              "stop_s": round(stopped, 2), "worker_stop_s": report.get("stop_s"),
              "max_recovery_attempts": 0})


def probe_sidecar_restarts(restarts: int) -> None:
    """SIGTERM restarts of the sidecar during one 8 s activity: the instance completes."""
    with _workdir() as tmp, our_sidecar(db_path=tmp / "state.db") as sidecar, \
            probe_worker(sidecar.address, tmp) as worker:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            instance_id = c.schedule_new_orchestration(_ORCHESTRATOR, input=8.0)
        assert wait_until(lambda: worker.runs("start") >= 1, 60)
        for _ in range(restarts):
            sidecar.restart()  # SIGTERM (graceful stop), then a new process on the same file
        last = time.monotonic()
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            status = wait_completed(c, instance_id, timeout=300)
        emit({"probe": "sidecar_sigterm_restarts", "restarts": restarts, "activity_s": 8.0,
              "status": status, "activity_starts": worker.runs("start"),
              "completed_s_after_last_restart": round(time.monotonic() - last, 2)})


def probe_sigstop(n: int) -> None:
    """A SIGSTOPped worker beside a healthy one: every orchestration completes."""
    with _workdir() as tmp, our_sidecar() as sidecar, \
            probe_worker(sidecar.address, tmp, "stopped") as stopped, \
            probe_worker(sidecar.address, tmp, "healthy"), \
            client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        time.sleep(2.0)  # both streams open
        stopped.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        ids = [c.schedule_new_orchestration(_ORCHESTRATOR, input=0.2) for _ in range(n)]
        statuses = [wait_completed(c, i, timeout=600) for i in ids]
        seconds = time.monotonic() - started
        stopped.process.send_signal(signal.SIGCONT)
        emit({"probe": "sigstopped_worker", "orchestrations": n,
              "completed": statuses.count("COMPLETED"), "seconds": round(seconds, 2)})


PROBES: dict[str, Callable[[argparse.Namespace], None]] = {
    "blackhole": lambda a: probe_blackhole(a.trials, official=False),
    "client-deadlines": lambda a: probe_client_deadlines(),
    "recreations": lambda a: probe_recreations(100),
    "stop-sigint": lambda a: probe_clean_stop("sigint"),
    "stop-call": lambda a: probe_clean_stop("stop"),
    "sidecar-restarts": lambda a: probe_sidecar_restarts(7),
    "sigstop": lambda a: probe_sigstop(20),
    "blackhole-official": lambda a: probe_blackhole(a.trials, official=True),
    "idle-official": lambda a: probe_idle_official(a.minutes),
}
_DEFAULT = ("blackhole", "client-deadlines", "recreations", "stop-sigint", "stop-call",
            "sidecar-restarts", "sigstop")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", choices=[[], *PROBES], default=[])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    for name in args.probes or _DEFAULT:
        PROBES[name](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
