"""Tests of the durable entities value layer (no sidecar needed)."""
