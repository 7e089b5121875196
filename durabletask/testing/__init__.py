"""Testing tools: a test backend, a virtual clock, time skipping, an offline replayer.

* :func:`create_test_backend`: the embedded sidecar with an in-memory store, on loopback.
* :class:`VirtualClock`: the time seam for tests (``clock=`` of the sidecar, worker, clients).
* :class:`TimeSkippingEnvironment`: sidecar, worker and clients in-process on a virtual clock
  that jumps ahead whenever everything waits on a timer.
* :class:`Replayer`: replays recorded histories against the current orchestrator code.
"""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar.hosting import EmbeddedSidecar
from durabletask.sidecar.store.memory import MemoryStore
from durabletask.testing.clock import VirtualClock
from durabletask.testing.environment import TimeSkippingEnvironment
from durabletask.testing.history_json import HistoryFormatError
from durabletask.testing.replay import Mismatch, Replayer, ReplayResult

# ``__all__`` stays that of durabletask 1.12.0 (a star import brings the same names as the
# official one); our additions are imported by name.
__all__ = ["InMemoryOrchestrationBackend", "create_test_backend"]
_ADDITIONS = (TimeSkippingEnvironment, VirtualClock, Replayer, ReplayResult, Mismatch,
              HistoryFormatError)


class InMemoryOrchestrationBackend(EmbeddedSidecar, pb_grpc.TaskHubSidecarServiceServicer):
    """An embedded sidecar that keeps everything in memory, for tests.

    It always binds 127.0.0.1; ``port=0`` picks a free port (read it back
    from :attr:`port` or :attr:`address` after :meth:`start`). It is a
    ``TaskHubSidecarServiceServicer`` like the official backend, but the RPCs
    are served over gRPC by the embedded sidecar; do not call the servicer
    methods on this object directly.
    """

    def __init__(self, max_history_size: int = 10000, port: int = 50051) -> None:
        """Configure the backend; call :meth:`start` to serve.

        Args:
            max_history_size: Histories longer than this fail their instance.
            port: TCP port on 127.0.0.1; 0 picks a free one.
        """
        super().__init__("127.0.0.1", port, store=MemoryStore(), max_history_size=max_history_size)


def create_test_backend(
    port: int = 50051, max_history_size: int = 10000
) -> InMemoryOrchestrationBackend:
    """Create and start an in-memory backend.

    Args:
        port: TCP port on 127.0.0.1; 0 picks a free one.
        max_history_size: Histories longer than this fail their instance.

    Returns:
        The started backend; call ``stop()`` when done.
    """
    backend = InMemoryOrchestrationBackend(max_history_size=max_history_size, port=port)
    backend.start()
    return backend
