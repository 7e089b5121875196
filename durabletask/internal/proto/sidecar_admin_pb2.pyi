import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkerFilter(_message.Message):
    __slots__ = ("kind", "name", "versions")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., versions: _Optional[_Iterable[str]] = ...) -> None: ...

class HeldWorkItem(_message.Message):
    __slots__ = ("kind", "instance_id", "name", "delivered_at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    instance_id: str
    name: str
    delivered_at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., instance_id: _Optional[str] = ..., name: _Optional[str] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConnectedWorker(_message.Message):
    __slots__ = ("worker_id", "connected_at", "max_orchestrations", "max_activities", "max_entities", "filtered", "filters", "draining", "suspect", "history_streaming", "work_items")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    MAX_ORCHESTRATIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    MAX_ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FILTERED_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    SUSPECT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_STREAMING_FIELD_NUMBER: _ClassVar[int]
    WORK_ITEMS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    connected_at: _timestamp_pb2.Timestamp
    max_orchestrations: int
    max_activities: int
    max_entities: int
    filtered: bool
    filters: _containers.RepeatedCompositeFieldContainer[WorkerFilter]
    draining: bool
    suspect: bool
    history_streaming: bool
    work_items: _containers.RepeatedCompositeFieldContainer[HeldWorkItem]
    def __init__(self, worker_id: _Optional[str] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_orchestrations: _Optional[int] = ..., max_activities: _Optional[int] = ..., max_entities: _Optional[int] = ..., filtered: _Optional[bool] = ..., filters: _Optional[_Iterable[_Union[WorkerFilter, _Mapping]]] = ..., draining: _Optional[bool] = ..., suspect: _Optional[bool] = ..., history_streaming: _Optional[bool] = ..., work_items: _Optional[_Iterable[_Union[HeldWorkItem, _Mapping]]] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[ConnectedWorker]
    def __init__(self, workers: _Optional[_Iterable[_Union[ConnectedWorker, _Mapping]]] = ...) -> None: ...

class DescribeInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class EventCount(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class DescribeInstanceResponse(_message.Message):
    __slots__ = ("exists", "reported", "awaited_events", "unclaimed_events", "dispatched", "running_on")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    AWAITED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    UNCLAIMED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DISPATCHED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_ON_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    reported: bool
    awaited_events: _containers.RepeatedScalarFieldContainer[str]
    unclaimed_events: _containers.RepeatedCompositeFieldContainer[EventCount]
    dispatched: bool
    running_on: str
    def __init__(self, exists: _Optional[bool] = ..., reported: _Optional[bool] = ..., awaited_events: _Optional[_Iterable[str]] = ..., unclaimed_events: _Optional[_Iterable[_Union[EventCount, _Mapping]]] = ..., dispatched: _Optional[bool] = ..., running_on: _Optional[str] = ...) -> None: ...

class ListOrphanEventsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class OrphanEvents(_message.Message):
    __slots__ = ("instance_id", "count", "names", "first_raised_at", "last_raised_at")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    FIRST_RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    count: int
    names: _containers.RepeatedScalarFieldContainer[str]
    first_raised_at: _timestamp_pb2.Timestamp
    last_raised_at: _timestamp_pb2.Timestamp
    def __init__(self, instance_id: _Optional[str] = ..., count: _Optional[int] = ..., names: _Optional[_Iterable[str]] = ..., first_raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListOrphanEventsResponse(_message.Message):
    __slots__ = ("instances", "total_events", "total_instances", "max_events")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[OrphanEvents]
    total_events: int
    total_instances: int
    max_events: int
    def __init__(self, instances: _Optional[_Iterable[_Union[OrphanEvents, _Mapping]]] = ..., total_events: _Optional[int] = ..., total_instances: _Optional[int] = ..., max_events: _Optional[int] = ...) -> None: ...

class PurgeOrphanEventsRequest(_message.Message):
    __slots__ = ("instance_ids", "raised_before")
    INSTANCE_IDS_FIELD_NUMBER: _ClassVar[int]
    RAISED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    instance_ids: _containers.RepeatedScalarFieldContainer[str]
    raised_before: _timestamp_pb2.Timestamp
    def __init__(self, instance_ids: _Optional[_Iterable[str]] = ..., raised_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PurgeOrphanEventsResponse(_message.Message):
    __slots__ = ("deleted_events",)
    DELETED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    deleted_events: int
    def __init__(self, deleted_events: _Optional[int] = ...) -> None: ...
