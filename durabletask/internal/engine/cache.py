"""Orchestration cache (extended sessions): keep live orchestrators between episodes.

A cached orchestration is fed only what it has not seen yet instead of replaying its whole
history, which makes a chain of N activities cost O(N) in total instead of O(N^2).

Two request shapes are served:

* **Full history** (any sidecar): the request's ``pastEvents`` must start with exactly the
  events the cached runner processed; only the tail is replayed. Anything else is a miss
  and a full replay, so the result never differs from one without the cache.
* **History streaming** (a sidecar that honours ``WORKER_CAPABILITY_HISTORY_STREAMING``
  sends no past events): a hit needs the same execution and a history length equal to what
  the runner's last, acknowledged episode left behind; a miss asks the caller to fetch the
  history (``StreamInstanceHistory``) and replay it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from durabletask.internal.engine.executor import OrchestrationExecutor
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.engine.rewind import is_rewind_request
from durabletask.internal.engine.runner import OrchestrationRunner
from durabletask.internal.proto import orchestrator_service_pb2 as pb

HISTORY_LENGTH_PROPERTY = "durabletask.historyLength"
"""Request property with the length of the history a streaming request left out."""

# Events our sidecar appends after an episode's new events, besides one per action.
_EPISODE_TRAILER_EVENTS = 1


@dataclass(frozen=True)
class OrchestrationCacheOptions:
    """How many orchestrations a worker keeps live between episodes, and for how long.

    Attributes:
        max_size: Most orchestrations kept; the least recently used is evicted. 0 disables.
        idle_timeout_seconds: An orchestration idle this long is evicted.
        always_replay: Never use the cache (full replay every episode): a switch to hunt
            nondeterminism, or to compare behaviour.
    """

    max_size: int = 1000
    idle_timeout_seconds: float = 300.0
    always_replay: bool = False

    def __post_init__(self) -> None:
        if self.max_size < 0:
            raise ValueError(
                f"OrchestrationCacheOptions.max_size must be >= 0, got {self.max_size}"
            )
        if self.idle_timeout_seconds <= 0:
            raise ValueError("OrchestrationCacheOptions.idle_timeout_seconds must be > 0")

    @property
    def enabled(self) -> bool:
        """True when orchestrations are kept between episodes."""
        return self.max_size > 0 and not self.always_replay


@dataclass
class _Entry:
    runner: OrchestrationRunner
    execution_id: str
    events_seen: int
    last_event: pb.HistoryEvent | None
    expected_history_length: int
    last_used: float
    acknowledged: bool = False


class NeedsHistory(Exception):  # noqa: N818 - a signal for the caller, not an error
    """A streaming request missed the cache: fetch the history and call again with it."""


class OrchestrationCache:
    """Runs orchestration episodes through an executor, reusing live runners when possible.

    Not thread-safe: the worker uses it from its event loop only.
    """

    def __init__(
        self,
        executor: OrchestrationExecutor,
        options: OrchestrationCacheOptions,
        clock: Callable[[], float],
    ) -> None:
        self._executor = executor
        self._options = options
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def execute(
        self,
        request: pb.OrchestratorRequest,
        fetched_history: Sequence[pb.HistoryEvent] | None = None,
    ) -> ExecutionResults:
        """Run one episode for ``request``.

        Args:
            request: The work item's request.
            fetched_history: The history fetched after a :class:`NeedsHistory` miss.

        Raises:
            NeedsHistory: The request carries no past events and the cache cannot serve it.
        """
        instance_id = request.instanceId
        past: Sequence[pb.HistoryEvent] = request.pastEvents
        if fetched_history is not None:
            past = fetched_history
        streaming = request.requiresHistoryStreaming and fetched_history is None
        if streaming and _streamed_history_length(request) == 0:
            # A brand-new instance: the omitted history is empty, nothing to fetch.
            past, streaming = (), False
        entry = self._entries.pop(instance_id, None) if self._options.enabled else None
        replay = self._match(entry, request, past, streaming)
        if replay is None:
            if streaming:
                self.misses += 1
                raise NeedsHistory(instance_id)
            return self._execute_fresh(request, past)
        assert entry is not None
        self.hits += 1
        results = self._executor.run_episode(entry.runner, replay, request.newEvents)
        history_length = entry.expected_history_length if streaming else len(past)
        self._remember(entry.runner, request, history_length, results)
        return results

    def _match(
        self,
        entry: _Entry | None,
        request: pb.OrchestratorRequest,
        past: Sequence[pb.HistoryEvent],
        streaming: bool,
    ) -> Sequence[pb.HistoryEvent] | None:
        if entry is None or not entry.acknowledged or entry.runner.is_complete:
            return None
        if self._clock() - entry.last_used > self._options.idle_timeout_seconds:
            return None
        if entry.execution_id != _execution_id(request):
            return None
        if streaming:
            if _streamed_history_length(request) != entry.expected_history_length:
                return None
            # The sidecar committed the episode's actions; nothing more to replay.
            entry.runner.context.clear_pending_actions()
            return ()
        seen = entry.events_seen
        if seen == 0 or len(past) < seen or past[seen - 1] != entry.last_event:
            return None
        return past[seen:]

    def _execute_fresh(
        self, request: pb.OrchestratorRequest, past: Sequence[pb.HistoryEvent]
    ) -> ExecutionResults:
        self.misses += 1
        new_events = request.newEvents
        if not self._options.enabled or is_rewind_request(past, new_events):
            return self._executor.execute(request.instanceId, past, new_events)
        runner = self._executor.new_runner(request.instanceId)
        results = self._executor.run_episode(runner, past, new_events)
        self._remember(runner, request, len(past), results)
        return results

    def _remember(
        self,
        runner: OrchestrationRunner,
        request: pb.OrchestratorRequest,
        history_length: int,
        results: ExecutionResults,
    ) -> None:
        if not self._options.enabled or runner.is_complete or results.abandon:
            return
        new_events = request.newEvents
        events_seen = history_length + len(new_events)
        self._entries[request.instanceId] = _Entry(
            runner=runner,
            execution_id=_execution_id(request),
            events_seen=events_seen,
            last_event=new_events[len(new_events) - 1] if new_events else None,
            expected_history_length=events_seen + len(results.actions) + _EPISODE_TRAILER_EVENTS,
            last_used=self._clock(),
        )
        self._evict_overflow()

    def acknowledge(self, instance_id: str) -> None:
        """The sidecar accepted the episode's completion: the entry may serve the next one."""
        entry = self._entries.get(instance_id)
        if entry is not None:
            entry.acknowledged = True

    def evict(self, instance_id: str) -> None:
        """Forget ``instance_id`` (its completion was refused or its work item abandoned)."""
        if self._entries.pop(instance_id, None) is not None:
            self.evictions += 1

    def _evict_overflow(self) -> None:
        now = self._clock()
        timeout = self._options.idle_timeout_seconds
        while self._entries:
            oldest_id, oldest = next(iter(self._entries.items()))
            if len(self._entries) <= self._options.max_size and now - oldest.last_used <= timeout:
                break
            del self._entries[oldest_id]
            self.evictions += 1


def _execution_id(request: pb.OrchestratorRequest) -> str:
    if request.HasField("executionId"):
        return str(request.executionId.value)
    return ""


def _streamed_history_length(request: pb.OrchestratorRequest) -> int | None:
    length = request.properties.get(HISTORY_LENGTH_PROPERTY)
    return None if length is None else int(length.number_value)
