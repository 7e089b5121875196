"""Compatibility alias: the official SDK exposes the messages at this path."""

from durabletask.internal.proto.orchestrator_service_pb2 import *  # noqa: F401,F403
from durabletask.internal.proto.orchestrator_service_pb2 import DESCRIPTOR  # noqa: F401
