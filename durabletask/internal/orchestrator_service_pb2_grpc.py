"""Compatibility alias: the official SDK exposes the gRPC stubs at this path."""

from durabletask.internal.proto.orchestrator_service_pb2_grpc import *  # noqa: F401,F403
