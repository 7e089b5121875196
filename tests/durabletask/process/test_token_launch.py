"""A token required by a child sidecar never appears on its command line (``ps`` shows it).

``SidecarProcess`` hands the token to the child through its environment
(``--require-token-env``), and waits for a sidecar that refuses its bare ``Hello``.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.child_process import SidecarProcess

TOKEN = "not-in-ps-7f3a"


def test_a_child_sidecar_gets_its_token_through_the_environment():
    with SidecarProcess(options=SidecarOptions(require_token=TOKEN)) as sidecar:
        command_line = Path(f"/proc/{sidecar.pid}/cmdline").read_bytes().decode()
        with grpc.insecure_channel(sidecar.address) as channel:
            stub = pb_grpc.TaskHubSidecarServiceStub(channel)
            stub.Hello(empty_pb2.Empty(), timeout=5,
                       metadata=[("authorization", f"Bearer {TOKEN}")])
            with pytest.raises(grpc.RpcError) as refused:
                stub.Hello(empty_pb2.Empty(), timeout=5,
                           metadata=[("authorization", "Bearer wrong")])

    assert TOKEN not in command_line
    assert "--require-token-env" in command_line
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
