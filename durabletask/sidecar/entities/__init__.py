"""Durable entities in the embedded sidecar: state, queues, locks and batch dispatch.

The orchestration core stays as it was; entities live beside it and change
state through the same store (one transaction per transition):

* ``ids``: entity id parsing (``@name@key``).
* ``routing``: orchestrator ``sendEntityMessage`` actions become history events and
  entity inbox messages; locks still held by a finishing orchestration are released.
* ``scheduler``: per entity, which queued messages run next (locks, lock holders).
* ``batches``: the ``entityRequestV2`` work item and what its ``EntityBatchResult`` commits.
* ``core``: ``EntityCore``, the RPC-facing behaviour, dispatch and recovery.
"""
