"""The plan of one client RPC, sans I/O: which steps to take, given what each step did.

:func:`call_plan` is a generator that yields :data:`Step` values and is sent back each
step's :data:`Outcome`; it returns the response. It holds every decision of a call: payloads
are offloaded before the first attempt, each attempt gets the time left of the call's
deadline, a call whose channel was retired under it is resent at once (it never left the
process), a retryable status waits the delay of the ``RetryPlan`` and tries again, any
other failure is translated, and payload tokens of the response are resolved. The sync and
async client shells (``shells.py``) only carry the steps out, so this logic exists once and
is tested without a channel.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message

from durabletask.errors import ClientClosedError
from durabletask.internal.requests.calls import Call, ClientSettings
from durabletask.internal.transport.errors import SidecarError, translate_rpc_error
from durabletask.internal.transport.retry import RetryPlan
from durabletask.internal.transport.status import status_code

__all__ = [
    "Attempt",
    "Attempted",
    "MAX_RESENDS",
    "Offload",
    "Outcome",
    "Resolve",
    "Sleep",
    "Step",
    "call_plan",
    "closed_error",
]

MAX_RESENDS = 3
"""Resends of a call whose channel was retired under it; bounded in case recreations race it."""


@dataclass(frozen=True, slots=True)
class Offload:
    """Externalise the large payloads of ``message`` to the payload store (in place)."""

    message: Message
    instance_id: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """Send ``call`` once on the current channel with these stub-independent kwargs.

    ``kwargs`` holds ``timeout`` (the time left of the call's deadline, or None) and
    ``metadata``.
    """

    call: Call
    kwargs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` before the next attempt; the fields say why (for the retry event)."""

    seconds: float
    method: str
    code: grpc.StatusCode | None
    attempt: int


@dataclass(frozen=True, slots=True)
class Resolve:
    """Replace the payload tokens of these response messages by their data (in place)."""

    messages: tuple[Message, ...]


Step: TypeAlias = Offload | Attempt | Sleep | Resolve


@dataclass(frozen=True, slots=True)
class Attempted:
    """What an :class:`Attempt` did: its response, or the error it raised.

    Attributes:
        response: The response (the list of messages for a streaming call) on success.
        error: A ``grpc.RpcError``, or the error of a channel closed under the call.
        retired: The channel of the attempt was no longer the current one or was closed.
    """

    response: Any = None
    error: BaseException | None = None
    retired: bool = False


Outcome: TypeAlias = Attempted | None
"""What the shell sends back: an :class:`Attempted` for an attempt, None for other steps."""


def closed_error(owner: str, method: str) -> ClientClosedError:
    """Return the error of a call made on (or caught by the close of) a closed client."""
    return ClientClosedError(f"{owner} is closed: create a new client to call {method}")


def call_plan(
    call: Call,
    settings: ClientSettings,
    metadata: tuple[tuple[str, str], ...],
    *,
    owner: str,
    closed: Callable[[], bool],
    payloads: bool,
    clock: Callable[[], float],
    rng: Callable[[], float] | None = None,
) -> Generator[Step, Outcome, Any]:
    """Plan one RPC: yield its steps, be sent their outcomes, return the response.

    Args:
        call: The RPC.
        settings: The client's settings (size limit, default deadline, address).
        metadata: gRPC metadata of every attempt.
        owner: The client class name, for the closed-client error.
        closed: Whether the client has been closed (read at the points that decide).
        payloads: Whether a payload store is configured (offload and resolve steps).
        clock: The monotonic clock of the retry plan.
        rng: The retry jitter source; ``random.random`` by default.

    Raises:
        ClientClosedError: The client is (or was, during the call) closed.
        PayloadTooLargeError: The request exceeds the message limit.
        SidecarError: The call failed and is not retried (``translate_rpc_error``).
    """
    if payloads and not closed():
        yield Offload(call.request, call.instance_id)
    if closed():
        raise closed_error(owner, call.method)
    settings.check_size(call)
    info = settings.call_info(call)
    retry = (RetryPlan(call.method, settings.deadline(call), clock=clock) if rng is None
             else RetryPlan(call.method, settings.deadline(call), clock=clock, rng=rng))
    resends = 0
    while True:
        outcome = yield Attempt(call, {"timeout": retry.attempt_timeout(), "metadata": metadata})
        assert outcome is not None, "an Attempt is answered with Attempted"
        error = outcome.error
        if error is None:
            break
        if not isinstance(error, grpc.RpcError):
            # The channel was closed under a call that had read it just before a
            # recreation: the request never left, so sending it again is always safe.
            if closed():
                raise closed_error(owner, call.method) from None
            if not outcome.retired or resends >= MAX_RESENDS:
                raise error
            resends += 1
            retry.resent()
            continue
        code = status_code(error)
        delay = None if isinstance(error, SidecarError) or closed() else retry.retry_delay(code)
        if delay is None:
            raise translate_rpc_error(
                error, info, attempts=retry.attempts, deadline_passed=retry.deadline_passed
            ) from error
        yield Sleep(delay, retry.method, code, retry.attempts)
    response = outcome.response
    if payloads:
        yield Resolve(tuple(response) if call.streaming else (response,))
    return response
