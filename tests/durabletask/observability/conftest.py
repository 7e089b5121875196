"""The OpenTelemetry capture fixtures (``spans``, ``metric_reader``) for these tests."""

from tests.durabletask.helpers.otel import metric_reader, spans  # noqa: F401
