import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from partita.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StageTask(_message.Message):
    __slots__ = ("task_token", "namespace", "task_queue", "task_type", "inputs", "attempt", "activation_id", "campaign", "stage", "headers", "schedule_to_close_deadline", "start_to_close_deadline", "heartbeat_timeout")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TO_CLOSE_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    START_TO_CLOSE_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    namespace: str
    task_queue: str
    task_type: str
    inputs: _struct_pb2.Struct
    attempt: int
    activation_id: str
    campaign: str
    stage: str
    headers: _containers.ScalarMap[str, str]
    schedule_to_close_deadline: _timestamp_pb2.Timestamp
    start_to_close_deadline: _timestamp_pb2.Timestamp
    heartbeat_timeout: _duration_pb2.Duration
    def __init__(self, task_token: _Optional[bytes] = ..., namespace: _Optional[str] = ..., task_queue: _Optional[str] = ..., task_type: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., attempt: _Optional[int] = ..., activation_id: _Optional[str] = ..., campaign: _Optional[str] = ..., stage: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., schedule_to_close_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_to_close_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Worker(_message.Message):
    __slots__ = ("identity", "task_queues", "last_seen_time", "tasks_in_flight")
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUES_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    TASKS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    identity: str
    task_queues: _containers.RepeatedScalarFieldContainer[str]
    last_seen_time: _timestamp_pb2.Timestamp
    tasks_in_flight: int
    def __init__(self, identity: _Optional[str] = ..., task_queues: _Optional[_Iterable[str]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tasks_in_flight: _Optional[int] = ...) -> None: ...

class PollStageTaskRequest(_message.Message):
    __slots__ = ("namespace", "task_queue", "identity")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    task_queue: str
    identity: str
    def __init__(self, namespace: _Optional[str] = ..., task_queue: _Optional[str] = ..., identity: _Optional[str] = ...) -> None: ...

class PollStageTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: StageTask
    def __init__(self, task: _Optional[_Union[StageTask, _Mapping]] = ...) -> None: ...

class CompleteStageTaskRequest(_message.Message):
    __slots__ = ("task_token", "outputs", "identity", "next_task_queue")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    NEXT_TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    outputs: _struct_pb2.Struct
    identity: str
    next_task_queue: str
    def __init__(self, task_token: _Optional[bytes] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., identity: _Optional[str] = ..., next_task_queue: _Optional[str] = ...) -> None: ...

class CompleteStageTaskResponse(_message.Message):
    __slots__ = ("next_task",)
    NEXT_TASK_FIELD_NUMBER: _ClassVar[int]
    next_task: StageTask
    def __init__(self, next_task: _Optional[_Union[StageTask, _Mapping]] = ...) -> None: ...

class FailStageTaskRequest(_message.Message):
    __slots__ = ("task_token", "failure", "identity")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    failure: _common_pb2.Failure
    identity: str
    def __init__(self, task_token: _Optional[bytes] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class FailStageTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HeartbeatStageTaskRequest(_message.Message):
    __slots__ = ("task_token", "details", "identity")
    TASK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    task_token: bytes
    details: _struct_pb2.Struct
    identity: str
    def __init__(self, task_token: _Optional[bytes] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., identity: _Optional[str] = ...) -> None: ...

class HeartbeatStageTaskResponse(_message.Message):
    __slots__ = ("cancel_requested",)
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    cancel_requested: bool
    def __init__(self, cancel_requested: _Optional[bool] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ("namespace", "task_queue", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    TASK_QUEUE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    task_queue: str
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., task_queue: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers", "next_page_token")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[Worker]
    next_page_token: str
    def __init__(self, workers: _Optional[_Iterable[_Union[Worker, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TaskQueue(_message.Message):
    __slots__ = ("name", "backlog", "oldest_task_age", "tasks_held", "keys", "rate")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    OLDEST_TASK_AGE_FIELD_NUMBER: _ClassVar[int]
    TASKS_HELD_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    backlog: int
    oldest_task_age: _duration_pb2.Duration
    tasks_held: int
    keys: int
    rate: float
    def __init__(self, name: _Optional[str] = ..., backlog: _Optional[int] = ..., oldest_task_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., tasks_held: _Optional[int] = ..., keys: _Optional[int] = ..., rate: _Optional[float] = ...) -> None: ...

class ListTaskQueuesRequest(_message.Message):
    __slots__ = ("namespace",)
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class ListTaskQueuesResponse(_message.Message):
    __slots__ = ("task_queues",)
    TASK_QUEUES_FIELD_NUMBER: _ClassVar[int]
    task_queues: _containers.RepeatedCompositeFieldContainer[TaskQueue]
    def __init__(self, task_queues: _Optional[_Iterable[_Union[TaskQueue, _Mapping]]] = ...) -> None: ...
