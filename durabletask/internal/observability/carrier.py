"""W3C trace context on the wire: parse and build ``traceparent`` values (no OpenTelemetry).

The protocol carries trace context as ``TraceContext{traceParent, spanID, traceState}``;
``traceParent`` is a W3C ``00-<trace id>-<span id>-<flags>`` string.
"""

from __future__ import annotations

import functools
import hashlib
import random
from typing import NamedTuple

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["SpanRef", "new_span_id", "parse", "root_for"]

# As OpenTelemetry's own id generator: ids must be unique, not secret.
_random = random.Random()
SAMPLED = 0x01


def new_span_id() -> int:
    """Return a random non-zero 64-bit span id."""
    while True:
        value = _random.getrandbits(64)
        if value:
            return value


class SpanRef(NamedTuple):
    """A span's identity: trace id, span id and trace flags (plus the vendor tracestate).

    A named tuple: one is made per span the SDK handles, and tuples are the cheapest to make.
    """

    trace_id: int
    span_id: int
    flags: int = SAMPLED
    state: str | None = None

    @property
    def sampled(self) -> bool:
        """True when the trace flags have the sampled bit (01) set."""
        return bool(self.flags & SAMPLED)

    @property
    def span_hex(self) -> str:
        """The span id as 16 lower-case hex digits."""
        return f"{self.span_id:016x}"

    def child(self, span_id: int | None = None) -> SpanRef:
        """The same trace with another (by default a new random) span id."""
        return SpanRef(self.trace_id, span_id or new_span_id(), self.flags, self.state)

    def traceparent(self) -> str:
        """The W3C ``traceparent`` value."""
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{self.flags:02x}"

    def to_proto(self) -> pb.TraceContext:
        """The protocol's ``TraceContext`` for this span."""
        message = pb.TraceContext()
        self.write_to(message)
        return message

    def write_to(self, message: pb.TraceContext) -> None:
        """Set ``message`` (a protocol ``TraceContext``) to this span."""
        span_hex = f"{self.span_id:016x}"
        message.traceParent = f"00-{self.trace_id:032x}-{span_hex}-{self.flags:02x}"
        message.spanID = span_hex
        if self.state:
            message.traceState.value = self.state


def parse(context: pb.TraceContext | None) -> SpanRef | None:
    """Read a protocol ``TraceContext``; None when absent or not a valid traceparent."""
    if context is None or not context.traceParent:
        return None
    parsed = parse_traceparent(context.traceParent)
    if parsed is None or not context.HasField("traceState") or not context.traceState.value:
        return parsed
    return parsed._replace(state=context.traceState.value)


@functools.lru_cache(maxsize=1024)
def parse_traceparent(value: str) -> SpanRef | None:
    """Read a W3C ``traceparent``; None when it is malformed or names a zero id.

    Cached: a context is read again by each episode of its orchestration and by the span
    that ends it (the result is immutable).
    """
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanRef(trace_id, span_id, flags)


def parse_span_id(value: str) -> int | None:
    """Read a 16-hex-digit span id; None when malformed or zero."""
    try:
        span_id = int(value, 16)
    except ValueError:
        return None
    return span_id if len(value) == 16 and span_id else None


def root_for(instance_id: str, execution_id: str) -> SpanRef:
    """The trace of an orchestration started without a trace context.

    Its trace id is derived from the instance and execution ids, so every episode of the
    execution (in any worker process) puts its spans into the same trace.
    """
    digest = hashlib.sha256(f"{instance_id}\x00{execution_id}".encode()).digest()
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    return SpanRef(trace_id, span_id, SAMPLED)
