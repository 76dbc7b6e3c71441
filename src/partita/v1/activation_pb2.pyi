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

class PauseKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAUSE_KIND_UNSPECIFIED: _ClassVar[PauseKind]
    PAUSE_KIND_STEPPED: _ClassVar[PauseKind]
    PAUSE_KIND_REQUEST: _ClassVar[PauseKind]

class StageRunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_RUN_STATUS_UNSPECIFIED: _ClassVar[StageRunStatus]
    STAGE_RUN_STATUS_RUNNING: _ClassVar[StageRunStatus]
    STAGE_RUN_STATUS_WAITING: _ClassVar[StageRunStatus]
    STAGE_RUN_STATUS_COMPLETED: _ClassVar[StageRunStatus]
    STAGE_RUN_STATUS_FAILED: _ClassVar[StageRunStatus]
    STAGE_RUN_STATUS_CANCELLED: _ClassVar[StageRunStatus]
PAUSE_KIND_UNSPECIFIED: PauseKind
PAUSE_KIND_STEPPED: PauseKind
PAUSE_KIND_REQUEST: PauseKind
STAGE_RUN_STATUS_UNSPECIFIED: StageRunStatus
STAGE_RUN_STATUS_RUNNING: StageRunStatus
STAGE_RUN_STATUS_WAITING: StageRunStatus
STAGE_RUN_STATUS_COMPLETED: StageRunStatus
STAGE_RUN_STATUS_FAILED: StageRunStatus
STAGE_RUN_STATUS_CANCELLED: StageRunStatus

class StageRun(_message.Message):
    __slots__ = ("run_id", "stage", "status", "attempt", "inputs", "outputs", "error", "start_time", "end_time", "next_stage")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_STAGE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    stage: str
    status: StageRunStatus
    attempt: int
    inputs: _struct_pb2.Struct
    outputs: _struct_pb2.Struct
    error: _common_pb2.Failure
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    next_stage: str
    def __init__(self, run_id: _Optional[str] = ..., stage: _Optional[str] = ..., status: _Optional[_Union[StageRunStatus, str]] = ..., attempt: _Optional[int] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_stage: _Optional[str] = ...) -> None: ...

class Activation(_message.Message):
    __slots__ = ("id", "namespace", "campaign", "version", "status", "inputs", "outputs", "current_stage", "generation", "create_time", "close_time", "status_message", "self_driving", "stage_runs", "history_length", "parent_activation_id", "parent_run_id", "run_number", "continued_from_activation_id", "paused_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STAGE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SELF_DRIVING_FIELD_NUMBER: _ClassVar[int]
    STAGE_RUNS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PARENT_ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONTINUED_FROM_ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    campaign: str
    version: int
    status: _common_pb2.ActivationStatus
    inputs: _struct_pb2.Struct
    outputs: _struct_pb2.Struct
    current_stage: str
    generation: int
    create_time: _timestamp_pb2.Timestamp
    close_time: _timestamp_pb2.Timestamp
    status_message: str
    self_driving: bool
    stage_runs: _containers.RepeatedCompositeFieldContainer[StageRun]
    history_length: int
    parent_activation_id: str
    parent_run_id: str
    run_number: int
    continued_from_activation_id: str
    paused_by: PauseKind
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., campaign: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.ActivationStatus, str]] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., current_stage: _Optional[str] = ..., generation: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_message: _Optional[str] = ..., self_driving: _Optional[bool] = ..., stage_runs: _Optional[_Iterable[_Union[StageRun, _Mapping]]] = ..., history_length: _Optional[int] = ..., parent_activation_id: _Optional[str] = ..., parent_run_id: _Optional[str] = ..., run_number: _Optional[int] = ..., continued_from_activation_id: _Optional[str] = ..., paused_by: _Optional[_Union[PauseKind, str]] = ...) -> None: ...

class StartActivationRequest(_message.Message):
    __slots__ = ("namespace", "campaign", "version", "activation_id", "inputs", "request_id", "start_stage")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_STAGE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    campaign: str
    version: int
    activation_id: str
    inputs: _struct_pb2.Struct
    request_id: str
    start_stage: str
    def __init__(self, namespace: _Optional[str] = ..., campaign: _Optional[str] = ..., version: _Optional[int] = ..., activation_id: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., start_stage: _Optional[str] = ...) -> None: ...

class StartActivationResponse(_message.Message):
    __slots__ = ("activation", "started")
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    started: bool
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ..., started: _Optional[bool] = ...) -> None: ...

class GetActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ...) -> None: ...

class GetActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class ListActivationsRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "page_token", "statuses", "campaign", "start_time_after", "start_time_before")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_AFTER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.ActivationStatus]
    campaign: str
    start_time_after: _timestamp_pb2.Timestamp
    start_time_before: _timestamp_pb2.Timestamp
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.ActivationStatus, str]]] = ..., campaign: _Optional[str] = ..., start_time_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListActivationsResponse(_message.Message):
    __slots__ = ("activations", "next_page_token")
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    activations: _containers.RepeatedCompositeFieldContainer[Activation]
    next_page_token: str
    def __init__(self, activations: _Optional[_Iterable[_Union[Activation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "reason", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    reason: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class TerminateActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "reason", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    reason: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class TerminateActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class SignalActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "event", "data", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    event: str
    data: _struct_pb2.Struct
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., event: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SignalActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class AdvanceActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "stage", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    stage: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., stage: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdvanceActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class GetActivationHistoryRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetActivationHistoryResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_common_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_common_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "from_sequence")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    from_sequence: int
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., from_sequence: _Optional[int] = ...) -> None: ...

class WatchActivationResponse(_message.Message):
    __slots__ = ("event", "activation")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    event: _common_pb2.Event
    activation: Activation
    def __init__(self, event: _Optional[_Union[_common_pb2.Event, _Mapping]] = ..., activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class RerunActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "stage", "inputs", "allow_completed", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    stage: str
    inputs: _struct_pb2.Struct
    allow_completed: bool
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., stage: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., allow_completed: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RerunActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class SkipStageRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "stage", "outputs", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    stage: str
    outputs: _struct_pb2.Struct
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., stage: _Optional[str] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SkipStageResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class RetryStageRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "stage", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    stage: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., stage: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RetryStageResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class PauseActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "reason", "hold_tasks", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HOLD_TASKS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    reason: str
    hold_tasks: bool
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., reason: _Optional[str] = ..., hold_tasks: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class PauseActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...

class ResumeActivationRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "reason", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    reason: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResumeActivationResponse(_message.Message):
    __slots__ = ("activation",)
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    activation: Activation
    def __init__(self, activation: _Optional[_Union[Activation, _Mapping]] = ...) -> None: ...
