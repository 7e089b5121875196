"""The generated ``TaskHubSidecarService`` stub as the client shells see it: typed, by name.

``orchestrator_service_pb2_grpc`` is generated without type information, and one stub
class serves both channel kinds: over a ``grpc.Channel`` its attributes are blocking
multi-callables, over a ``grpc.aio.Channel`` awaitable ones. :class:`SidecarStub` states
that shape once, generic in the two callable kinds, so the shells look an RPC up by the
name a :class:`~durabletask.internal.requests.calls.Call` carries without ``getattr``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, TypeVar

import grpc
import grpc.aio

__all__ = ["AsyncSidecarStub", "SidecarStub", "SyncSidecarStub", "stream_rpc", "unary_rpc"]

UnaryT_co = TypeVar("UnaryT_co", covariant=True)
StreamT_co = TypeVar("StreamT_co", covariant=True)


class SidecarStub(Protocol[UnaryT_co, StreamT_co]):
    """The client RPCs of the generated stub: unary ones of one kind, streaming of another."""

    @property
    def StartInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def GetInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def RewindInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def RestartInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def WaitForInstanceStart(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def WaitForInstanceCompletion(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def RaiseEvent(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def TerminateInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def SuspendInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def ResumeInstance(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def QueryInstances(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def ListInstanceIds(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def PurgeInstances(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def SignalEntity(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def GetEntity(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def QueryEntities(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def CleanEntityStorage(self) -> UnaryT_co: ...  # noqa: D102, N802
    @property
    def StreamInstanceHistory(self) -> StreamT_co: ...  # noqa: D102, N802


# The message types vary per RPC; a Call pairs each request with its RPC by name. Quoted:
# grpc's multi-callables are generic in its type stubs only, not at run time.
SyncSidecarStub: TypeAlias = (
    "SidecarStub[grpc.UnaryUnaryMultiCallable[Any, Any], grpc.UnaryStreamMultiCallable[Any, Any]]"
)
AsyncSidecarStub: TypeAlias = (
    "SidecarStub[grpc.aio.UnaryUnaryMultiCallable[Any, Any], "
    "grpc.aio.UnaryStreamMultiCallable[Any, Any]]"
)

U = TypeVar("U")
S = TypeVar("S")


def unary_rpc(stub: SidecarStub[U, S], method: str) -> U:
    """Return the unary RPC ``method`` of ``stub``.

    Raises:
        KeyError: ``method`` is not a unary RPC the clients call.
    """
    rpcs = {
        "StartInstance": stub.StartInstance,
        "GetInstance": stub.GetInstance,
        "RewindInstance": stub.RewindInstance,
        "RestartInstance": stub.RestartInstance,
        "WaitForInstanceStart": stub.WaitForInstanceStart,
        "WaitForInstanceCompletion": stub.WaitForInstanceCompletion,
        "RaiseEvent": stub.RaiseEvent,
        "TerminateInstance": stub.TerminateInstance,
        "SuspendInstance": stub.SuspendInstance,
        "ResumeInstance": stub.ResumeInstance,
        "QueryInstances": stub.QueryInstances,
        "ListInstanceIds": stub.ListInstanceIds,
        "PurgeInstances": stub.PurgeInstances,
        "SignalEntity": stub.SignalEntity,
        "GetEntity": stub.GetEntity,
        "QueryEntities": stub.QueryEntities,
        "CleanEntityStorage": stub.CleanEntityStorage,
    }
    return rpcs[method]


def stream_rpc(stub: SidecarStub[U, S], method: str) -> S:
    """Return the server-streaming RPC ``method`` of ``stub``.

    Raises:
        KeyError: ``method`` is not a streaming RPC the clients call.
    """
    if method != "StreamInstanceHistory":
        raise KeyError(method)
    return stub.StreamInstanceHistory
