"""The orchestrator that drives one export job, page by page.

Each cycle: ask the job's entity whether the job is still active (a deleted or failed
job stops the orchestrator); list one page of terminal instances; export them in chunks
of ``max_parallel_exports`` (each export with :data:`EXPORT_ACTIVITY_RETRY_POLICY`);
retry the whole page up to :data:`MAX_BATCH_RETRY_ATTEMPTS` times while any export
failed; record the page with ``commit_checkpoint``. A batch job ends with
``mark_completed``; a continuous job sleeps :data:`CONTINUOUS_IDLE_DELAY` when it runs out
of instances and goes on. Every :data:`CONTINUE_AS_NEW_FREQUENCY` cycles the
orchestrator continues as new, so its history stays short. An unexpected error signals
``mark_failed`` with the reason and fails the orchestration.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from durabletask import task
from durabletask import worker as worker_module
from durabletask.entities import EntityInstanceId
from durabletask.extensions.history_export._constants import ENTITY_NAME, ORCHESTRATOR_NAME
from durabletask.extensions.history_export.activities import (
    EXPORT_INSTANCE_HISTORY_ACTIVITY,
    LIST_TERMINAL_INSTANCES_ACTIVITY,
    build_list_activity_input,
)
from durabletask.extensions.history_export.entity import ExportJobEntity
from durabletask.extensions.history_export.models import (
    ExportJobConfiguration,
    ExportJobStatus,
    ExportMode,
)

__all__ = [
    "CONTINUE_AS_NEW_FREQUENCY",
    "CONTINUOUS_IDLE_DELAY",
    "EXPORT_ACTIVITY_RETRY_POLICY",
    "MAX_BATCH_RETRY_ATTEMPTS",
    "ORCHESTRATOR_NAME",
    "export_job_orchestrator",
    "register",
]

logger = logging.getLogger("durabletask.extensions.history_export")

EXPORT_ACTIVITY_RETRY_POLICY = task.RetryPolicy(
    first_retry_interval=timedelta(seconds=15),
    max_number_of_attempts=3,
    backoff_coefficient=2.0,
    max_retry_interval=timedelta(seconds=60),
)
"""Retries of one instance's export activity (3 attempts, 15 s then 30 s apart)."""

CONTINUE_AS_NEW_FREQUENCY = 5
"""Cycles (pages) after which the orchestrator continues as new."""

MAX_BATCH_RETRY_ATTEMPTS = 3
"""Attempts at a page before the job fails with the page's failures."""

CONTINUOUS_IDLE_DELAY = timedelta(minutes=1)
"""How long a continuous job waits when it found nothing new."""

_BATCH_RETRY_FIRST = timedelta(seconds=60)
_BATCH_RETRY_MAX = timedelta(seconds=300)

# Test seams of 1.12.0 (its own tests set them to keep runs short): when set, they
# replace the delay between page attempts and the continuous idle delay.
_BATCH_RETRY_BACKOFF_OVERRIDE: timedelta | None = None
_CONTINUOUS_IDLE_DELAY_OVERRIDE: timedelta | None = None


def _batch_retry_delay(attempt: int) -> timedelta:
    if _BATCH_RETRY_BACKOFF_OVERRIDE is not None:
        return _BATCH_RETRY_BACKOFF_OVERRIDE
    return min(_BATCH_RETRY_FIRST * 2 ** (attempt - 1), _BATCH_RETRY_MAX)


def _idle_delay() -> timedelta:
    return _CONTINUOUS_IDLE_DELAY_OVERRIDE or CONTINUOUS_IDLE_DELAY


@dataclass
class _Job:
    """The orchestrator's input, parsed, plus the progress of this execution."""

    job_id: str
    raw_config: dict[str, Any]
    config: ExportJobConfiguration
    token: str | None
    cycles: int
    totals: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> _Job:
        raw_config = data["config"]
        if not isinstance(raw_config, Mapping):
            raise TypeError("config input must be a mapping")
        checkpoint = data.get("checkpoint") or {}
        totals = data.get("totals")
        if not isinstance(totals, Mapping):
            totals = {}
        return cls(
            job_id=str(data["job_id"]),
            raw_config=dict(raw_config),
            config=ExportJobConfiguration.from_dict(raw_config),
            token=checkpoint.get("last_instance_key"),
            cycles=int(data.get("processed_cycles", 0)),
            totals={key: int(totals.get(key, 0)) for key in ("scanned", "exported", "failed")},
        )

    def add(self, scanned: int, exported: int, failed: int) -> None:
        for key, count in (("scanned", scanned), ("exported", exported), ("failed", failed)):
            self.totals[key] += count

    def result(self, status: str | None) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": status, "totals": self.totals}

    def next_input(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "config": self.raw_config,
                "checkpoint": {"last_instance_key": self.token},
                "totals": dict(self.totals), "processed_cycles": 0}


def export_job_orchestrator(
    ctx: task.OrchestrationContext, input: Mapping[str, Any]
) -> Generator[Any, Any, Any]:
    """Drive the export job of ``input`` to its end (see the module docstring).

    ``input`` is ``{"job_id", "config": ExportJobConfiguration.to_dict()}`` plus, after
    a continue-as-new, ``checkpoint``, ``totals`` and ``processed_cycles``.
    """
    job = _Job.parse(input)
    entity_id = EntityInstanceId(ENTITY_NAME, job.job_id)
    try:
        return (yield from _run(ctx, job, entity_id))
    except Exception as exc:
        # A signal, not a call: if the entity is what failed, a call would fail again.
        ctx.signal_entity(entity_id, ExportJobEntity.OP_MARK_FAILED,
                          {"reason": f"{type(exc).__name__}: {exc}"})
        raise


def _run(
    ctx: task.OrchestrationContext, job: _Job, entity_id: EntityInstanceId
) -> Generator[Any, Any, Any]:
    log = ctx.create_replay_safe_logger(logger)
    continuous = job.config.mode is ExportMode.CONTINUOUS
    while True:
        job.cycles += 1
        if job.cycles > CONTINUE_AS_NEW_FREQUENCY:
            ctx.continue_as_new(job.next_input())
            return None
        current = yield ctx.call_entity(entity_id, ExportJobEntity.OP_GET)
        if current is None or current.get("status") != ExportJobStatus.ACTIVE.value:
            status = "Cancelled" if current is None else current.get("status")
            log.info("Export job %r is %s; its orchestrator stops", job.job_id, status)
            return job.result(status)
        page = yield ctx.call_activity(LIST_TERMINAL_INSTANCES_ACTIVITY, input=_list_input(job))
        instance_ids = [str(i) for i in page.get("instance_ids") or ()]
        if not instance_ids:
            if continuous:
                yield ctx.create_timer(ctx.current_utc_datetime + _idle_delay())
                continue
            yield ctx.call_entity(entity_id, ExportJobEntity.OP_COMMIT_CHECKPOINT,
                                  {"scanned_delta": 0, "exported_delta": 0, "failed_delta": 0})
            break
        results = yield from _export_page(ctx, instance_ids, job.config)
        failed = [r for r in results if not r.get("success")]
        if failed:
            yield ctx.call_entity(entity_id, ExportJobEntity.OP_COMMIT_CHECKPOINT,
                                  _failed_page(ctx, failed))
            job.add(len(instance_ids), len(results) - len(failed), len(failed))
            log.warning("Export job %r failed after %d attempts at a page; %d instances "
                        "were not exported", job.job_id, MAX_BATCH_RETRY_ATTEMPTS, len(failed))
            return job.result(ExportJobStatus.FAILED.value)
        next_token = page.get("continuation_token")
        next_token = None if next_token is None else str(next_token)
        yield ctx.call_entity(entity_id, ExportJobEntity.OP_COMMIT_CHECKPOINT, {
            "scanned_delta": len(instance_ids), "exported_delta": len(results),
            "failed_delta": 0, "last_instance_key": next_token or job.token})
        job.add(len(instance_ids), len(results), 0)
        if next_token:
            job.token = next_token
        elif continuous:
            yield ctx.create_timer(ctx.current_utc_datetime + _idle_delay())
        else:
            break
    # A call, so that the job is COMPLETED by the time the orchestration is.
    yield ctx.call_entity(entity_id, ExportJobEntity.OP_MARK_COMPLETED)
    return job.result("Completed")


def _list_input(job: _Job) -> dict[str, Any]:
    config = job.config
    return build_list_activity_input(
        runtime_status_names=[s.name for s in config.filter.effective_runtime_status()],
        completed_time_from=config.filter.completed_time_from,
        completed_time_to=config.filter.completed_time_to,
        page_size=config.max_instances_per_batch,
        continuation_token=job.token,
    )


def _failed_page(ctx: task.OrchestrationContext, failed: list[dict[str, Any]]) -> dict[str, Any]:
    when = ctx.current_utc_datetime.isoformat()
    return {
        "scanned_delta": 0, "exported_delta": 0, "failed_delta": len(failed),
        "failures": [{"instance_id": r["instance_id"], "reason": r.get("error") or "Unknown error",
                      "attempt_count": MAX_BATCH_RETRY_ATTEMPTS, "last_attempt": when}
                     for r in failed],
        "mark_failed_on_batch": True,
    }


def _export_page(
    ctx: task.OrchestrationContext, instance_ids: list[str], config: ExportJobConfiguration
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """Export a page; while any export failed, wait and try the whole page again."""
    results: list[dict[str, Any]] = []
    for attempt in range(1, MAX_BATCH_RETRY_ATTEMPTS + 1):
        results = yield from _export_chunks(ctx, instance_ids, config)
        if all(r.get("success") for r in results):
            break
        if attempt < MAX_BATCH_RETRY_ATTEMPTS:
            yield ctx.create_timer(ctx.current_utc_datetime + _batch_retry_delay(attempt))
    return results


def _export_chunks(
    ctx: task.OrchestrationContext, instance_ids: list[str], config: ExportJobConfiguration
) -> Generator[Any, Any, list[dict[str, Any]]]:
    destination, fmt = config.destination.to_dict(), config.format.to_dict()
    size = config.max_parallel_exports
    results: list[dict[str, Any]] = []
    for start in range(0, len(instance_ids), size):
        chunk: list[task.Task[Any]] = [ctx.call_activity(
            EXPORT_INSTANCE_HISTORY_ACTIVITY,
            input={"instance_id": instance_id, "format": fmt, "destination": destination},
            retry_policy=EXPORT_ACTIVITY_RETRY_POLICY,
        ) for instance_id in instance_ids[start:start + size]]
        results.extend((yield task.when_all(chunk)))
    return results


def register(worker_instance: worker_module.TaskHubGrpcWorker) -> None:
    """Register :func:`export_job_orchestrator` on ``worker_instance``."""
    worker_instance.add_orchestrator(export_job_orchestrator)
