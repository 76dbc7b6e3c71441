import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from partita.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_ACTION_UNSPECIFIED: _ClassVar[BatchAction]
    BATCH_ACTION_CANCEL: _ClassVar[BatchAction]
    BATCH_ACTION_TERMINATE: _ClassVar[BatchAction]
    BATCH_ACTION_RERUN: _ClassVar[BatchAction]
    BATCH_ACTION_SIGNAL: _ClassVar[BatchAction]

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_RUNNING: _ClassVar[BatchStatus]
    BATCH_STATUS_COMPLETED: _ClassVar[BatchStatus]
BATCH_ACTION_UNSPECIFIED: BatchAction
BATCH_ACTION_CANCEL: BatchAction
BATCH_ACTION_TERMINATE: BatchAction
BATCH_ACTION_RERUN: BatchAction
BATCH_ACTION_SIGNAL: BatchAction
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_RUNNING: BatchStatus
BATCH_STATUS_COMPLETED: BatchStatus

class BatchFilter(_message.Message):
    __slots__ = ("statuses", "campaign", "start_time_after", "start_time_before")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_AFTER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.ActivationStatus]
    campaign: str
    start_time_after: _timestamp_pb2.Timestamp
    start_time_before: _timestamp_pb2.Timestamp
    def __init__(self, statuses: _Optional[_Iterable[_Union[_common_pb2.ActivationStatus, str]]] = ..., campaign: _Optional[str] = ..., start_time_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("id", "namespace", "action", "filter", "reason", "event", "data", "stage", "inputs", "allow_completed", "rate", "status", "total", "done", "skipped", "failed", "last_error", "create_time", "update_time", "close_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    action: BatchAction
    filter: BatchFilter
    reason: str
    event: str
    data: _struct_pb2.Struct
    stage: str
    inputs: _struct_pb2.Struct
    allow_completed: bool
    rate: float
    status: BatchStatus
    total: int
    done: int
    skipped: int
    failed: int
    last_error: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., action: _Optional[_Union[BatchAction, str]] = ..., filter: _Optional[_Union[BatchFilter, _Mapping]] = ..., reason: _Optional[str] = ..., event: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stage: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., allow_completed: _Optional[bool] = ..., rate: _Optional[float] = ..., status: _Optional[_Union[BatchStatus, str]] = ..., total: _Optional[int] = ..., done: _Optional[int] = ..., skipped: _Optional[int] = ..., failed: _Optional[int] = ..., last_error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartBatchRequest(_message.Message):
    __slots__ = ("namespace", "batch_id", "action", "filter", "reason", "event", "data", "stage", "inputs", "allow_completed", "rate", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    batch_id: str
    action: BatchAction
    filter: BatchFilter
    reason: str
    event: str
    data: _struct_pb2.Struct
    stage: str
    inputs: _struct_pb2.Struct
    allow_completed: bool
    rate: float
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., batch_id: _Optional[str] = ..., action: _Optional[_Union[BatchAction, str]] = ..., filter: _Optional[_Union[BatchFilter, _Mapping]] = ..., reason: _Optional[str] = ..., event: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stage: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., allow_completed: _Optional[bool] = ..., rate: _Optional[float] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartBatchResponse(_message.Message):
    __slots__ = ("batch", "started")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    started: bool
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ..., started: _Optional[bool] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("namespace", "batch_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    batch_id: str
    def __init__(self, namespace: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class GetBatchResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: Batch
    def __init__(self, batch: _Optional[_Union[Batch, _Mapping]] = ...) -> None: ...

class ListBatchesRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBatchesResponse(_message.Message):
    __slots__ = ("batches", "next_page_token")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[Batch]
    next_page_token: str
    def __init__(self, batches: _Optional[_Iterable[_Union[Batch, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
