import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ActivationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVATION_STATUS_UNSPECIFIED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_RUNNING: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_PAUSED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_COMPLETED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_FAILED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_CANCELLED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_TERMINATED: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_TIMED_OUT: _ClassVar[ActivationStatus]
    ACTIVATION_STATUS_CONTINUED_AS_NEW: _ClassVar[ActivationStatus]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_STARTED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_STARTED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_TASK_LEASED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_COMPLETED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_FAILED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_RETRY_SCHEDULED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_TIMED_OUT: _ClassVar[EventType]
    EVENT_TYPE_TIMER_FIRED: _ClassVar[EventType]
    EVENT_TYPE_SIGNAL_RECEIVED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_PAUSED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_ADVANCED: _ClassVar[EventType]
    EVENT_TYPE_DISPATCH_SENT: _ClassVar[EventType]
    EVENT_TYPE_DISPATCH_ACCEPTED: _ClassVar[EventType]
    EVENT_TYPE_DISPATCH_RESULT: _ClassVar[EventType]
    EVENT_TYPE_CHILD_STARTED: _ClassVar[EventType]
    EVENT_TYPE_CHILD_CLOSED: _ClassVar[EventType]
    EVENT_TYPE_COMPENSATION_STARTED: _ClassVar[EventType]
    EVENT_TYPE_CANCEL_REQUESTED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_COMPLETED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_FAILED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_CANCELLED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_TERMINATED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_TIMED_OUT: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_CONTINUED_AS_NEW: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_RERUN: _ClassVar[EventType]
    EVENT_TYPE_STAGE_SKIPPED: _ClassVar[EventType]
    EVENT_TYPE_STAGE_RETRY_REQUESTED: _ClassVar[EventType]
    EVENT_TYPE_ACTIVATION_RESUMED: _ClassVar[EventType]
ACTIVATION_STATUS_UNSPECIFIED: ActivationStatus
ACTIVATION_STATUS_RUNNING: ActivationStatus
ACTIVATION_STATUS_PAUSED: ActivationStatus
ACTIVATION_STATUS_COMPLETED: ActivationStatus
ACTIVATION_STATUS_FAILED: ActivationStatus
ACTIVATION_STATUS_CANCELLED: ActivationStatus
ACTIVATION_STATUS_TERMINATED: ActivationStatus
ACTIVATION_STATUS_TIMED_OUT: ActivationStatus
ACTIVATION_STATUS_CONTINUED_AS_NEW: ActivationStatus
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_ACTIVATION_STARTED: EventType
EVENT_TYPE_STAGE_STARTED: EventType
EVENT_TYPE_STAGE_TASK_LEASED: EventType
EVENT_TYPE_STAGE_COMPLETED: EventType
EVENT_TYPE_STAGE_FAILED: EventType
EVENT_TYPE_STAGE_RETRY_SCHEDULED: EventType
EVENT_TYPE_STAGE_TIMED_OUT: EventType
EVENT_TYPE_TIMER_FIRED: EventType
EVENT_TYPE_SIGNAL_RECEIVED: EventType
EVENT_TYPE_ACTIVATION_PAUSED: EventType
EVENT_TYPE_ACTIVATION_ADVANCED: EventType
EVENT_TYPE_DISPATCH_SENT: EventType
EVENT_TYPE_DISPATCH_ACCEPTED: EventType
EVENT_TYPE_DISPATCH_RESULT: EventType
EVENT_TYPE_CHILD_STARTED: EventType
EVENT_TYPE_CHILD_CLOSED: EventType
EVENT_TYPE_COMPENSATION_STARTED: EventType
EVENT_TYPE_CANCEL_REQUESTED: EventType
EVENT_TYPE_ACTIVATION_COMPLETED: EventType
EVENT_TYPE_ACTIVATION_FAILED: EventType
EVENT_TYPE_ACTIVATION_CANCELLED: EventType
EVENT_TYPE_ACTIVATION_TERMINATED: EventType
EVENT_TYPE_ACTIVATION_TIMED_OUT: EventType
EVENT_TYPE_ACTIVATION_CONTINUED_AS_NEW: EventType
EVENT_TYPE_ACTIVATION_RERUN: EventType
EVENT_TYPE_STAGE_SKIPPED: EventType
EVENT_TYPE_STAGE_RETRY_REQUESTED: EventType
EVENT_TYPE_ACTIVATION_RESUMED: EventType

class Failure(_message.Message):
    __slots__ = ("type", "message", "details", "non_retryable")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    details: _struct_pb2.Struct
    non_retryable: bool
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., non_retryable: _Optional[bool] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("sequence", "time", "type", "stage", "data")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    type: EventType
    stage: str
    data: _struct_pb2.Struct
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[EventType, str]] = ..., stage: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
