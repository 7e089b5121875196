"""``CompletionStream``: work-item completions as messages on one stream per worker connection.

A negotiated extension (protos/durabletask_extensions.proto; advertised in ``Hello``'s
initial metadata, durabletask/internal/dialect.py). Each completion goes through the same
core call as its unary RPC (``CompleteOrchestratorTask``, ``CompleteActivityTask``,
``CompleteEntityTask``), group commit included, and is acknowledged with the status that
call would have ended with: a duplicate of an applied completion (a stale token) is
acknowledged OK, as the unary call is. Completions are applied concurrently, so those of
one batch share a commit; acknowledgements that are ready together go out as one message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from durabletask.internal.dialect import EventWaits
from durabletask.internal.proto import durabletask_extensions_pb2 as ext
from durabletask.internal.proto import durabletask_extensions_pb2_grpc as ext_grpc
from durabletask.sidecar import validation
from durabletask.sidecar.errors import SidecarRequestError
from durabletask.sidecar.rpc import failure_status
from durabletask.sidecar.task_hub import TaskHubCore

SERVICE_PREFIX = "/durabletask.extensions.v1.CompletionStream/"


class CompletionStreamServicer(ext_grpc.CompletionStreamServicer):
    """Applies streamed completions through a :class:`TaskHubCore`."""

    def __init__(self, core: TaskHubCore) -> None:
        """Serve ``core``."""
        self._core = core

    async def Complete(  # noqa: N802
        self, request_iterator: AsyncIterator[ext.CompletionBatch], context: Any
    ) -> AsyncIterator[ext.AckBatch]:
        """Apply each completion as it arrives; answer acknowledgements as they are ready."""
        acks: asyncio.Queue[ext.Ack | None] = asyncio.Queue()
        applying: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        async def read() -> None:
            try:
                async for batch in request_iterator:
                    for completion in batch.completions:
                        task = loop.create_task(self._apply(completion, acks))
                        applying.add(task)
                        task.add_done_callback(applying.discard)
                if applying:
                    await asyncio.gather(*applying, return_exceptions=True)
            finally:
                acks.put_nowait(None)

        reader = loop.create_task(read())
        try:
            while True:
                first = await acks.get()
                if first is None:
                    break
                batch = ext.AckBatch(acks=[first])
                ended = False
                while not acks.empty():
                    more = acks.get_nowait()
                    if more is None:
                        ended = True
                        break
                    batch.acks.append(more)
                yield batch
                if ended:
                    break
            await reader  # surfaces a broken request stream as the call's status
        finally:
            reader.cancel()

    async def _apply(self, completion: ext.Completion, acks: asyncio.Queue[ext.Ack | None]) -> None:
        kind = completion.WhichOneof("response")
        apply = self._operation(completion, kind)
        try:
            await apply()
            ack = ext.Ack(id=completion.id)
        except Exception as exc:
            code, message = failure_status(exc, _RPC_NAMES.get(kind or "", "Complete"))
            ack = ext.Ack(id=completion.id, code=code.value[0], message=message)
        acks.put_nowait(ack)

    def _operation(
        self, completion: ext.Completion, kind: str | None
    ) -> Callable[[], Awaitable[None]]:
        core = self._core

        async def apply() -> None:
            if kind == "orchestrator":
                response = completion.orchestrator
                validation.completion_token(response.completionToken, _RPC_NAMES[kind])
                metadata = [(entry.key, entry.value) for entry in completion.metadata]
                await core.complete_orchestration(response, EventWaits.from_metadata(metadata))
            elif kind == "activity":
                validation.completion_token(completion.activity.completionToken, _RPC_NAMES[kind])
                await core.complete_activity(completion.activity)
            elif kind == "entity":
                validation.completion_token(completion.entity.completionToken, _RPC_NAMES[kind])
                await core.entities.complete(completion.entity)
            else:
                raise _EmptyCompletion()

        return apply


_RPC_NAMES = {
    "orchestrator": "CompleteOrchestratorTask",
    "activity": "CompleteActivityTask",
    "entity": "CompleteEntityTask",
}


class _EmptyCompletion(SidecarRequestError):
    def __init__(self) -> None:
        super().__init__("a streamed completion must carry an orchestrator, activity or "
                         "entity response")
