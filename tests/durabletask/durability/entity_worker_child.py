"""A raw-gRPC entity "worker" for crash tests: takes one entity batch, reports it, then hangs.

Prints ``ready`` once its stream is open, then one JSON line with the batch it got
(entity, completion token, operation names), and never answers: the test SIGKILLs it.
"""

from __future__ import annotations

import json
import sys

import grpc

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc


def main() -> int:
    channel = grpc.insecure_channel(sys.argv[1])
    stub = pb_grpc.TaskHubSidecarServiceStub(channel)
    stream = stub.GetWorkItems(pb.GetWorkItemsRequest())
    print("ready", flush=True)
    for item in stream:
        if item.HasField("entityRequestV2"):
            request = item.entityRequestV2
            print(json.dumps({
                "entity": request.instanceId,
                "token": item.completionToken,
                "operations": [
                    getattr(e, e.WhichOneof("eventType")).operation
                    for e in request.operationRequests
                ],
            }), flush=True)
            sys.stdin.read()  # hold the batch until killed
    return 0


if __name__ == "__main__":
    sys.exit(main())
