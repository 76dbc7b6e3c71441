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

class SiteState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SITE_STATE_UNSPECIFIED: _ClassVar[SiteState]
    SITE_STATE_CONNECTED: _ClassVar[SiteState]
    SITE_STATE_DISCONNECTED: _ClassVar[SiteState]
SITE_STATE_UNSPECIFIED: SiteState
SITE_STATE_CONNECTED: SiteState
SITE_STATE_DISCONNECTED: SiteState

class ConnectRequest(_message.Message):
    __slots__ = ("hello", "dispatch_ack", "dispatch_result", "heartbeat")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_ACK_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_RESULT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    hello: SiteHello
    dispatch_ack: DispatchAck
    dispatch_result: DispatchResult
    heartbeat: SiteHeartbeat
    def __init__(self, hello: _Optional[_Union[SiteHello, _Mapping]] = ..., dispatch_ack: _Optional[_Union[DispatchAck, _Mapping]] = ..., dispatch_result: _Optional[_Union[DispatchResult, _Mapping]] = ..., heartbeat: _Optional[_Union[SiteHeartbeat, _Mapping]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("welcome", "dispatch", "result_ack", "cancel_dispatch")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_FIELD_NUMBER: _ClassVar[int]
    RESULT_ACK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_DISPATCH_FIELD_NUMBER: _ClassVar[int]
    welcome: HubWelcome
    dispatch: Dispatch
    result_ack: ResultAck
    cancel_dispatch: CancelDispatch
    def __init__(self, welcome: _Optional[_Union[HubWelcome, _Mapping]] = ..., dispatch: _Optional[_Union[Dispatch, _Mapping]] = ..., result_ack: _Optional[_Union[ResultAck, _Mapping]] = ..., cancel_dispatch: _Optional[_Union[CancelDispatch, _Mapping]] = ...) -> None: ...

class SiteHello(_message.Message):
    __slots__ = ("site_id", "plane_version")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    PLANE_VERSION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    plane_version: str
    def __init__(self, site_id: _Optional[str] = ..., plane_version: _Optional[str] = ...) -> None: ...

class DispatchAck(_message.Message):
    __slots__ = ("dispatch_id",)
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    def __init__(self, dispatch_id: _Optional[str] = ...) -> None: ...

class DispatchResult(_message.Message):
    __slots__ = ("dispatch_id", "status", "outputs", "failure")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    status: _common_pb2.ActivationStatus
    outputs: _struct_pb2.Struct
    failure: _common_pb2.Failure
    def __init__(self, dispatch_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ActivationStatus, str]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class SiteHeartbeat(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HubWelcome(_message.Message):
    __slots__ = ("hub_id",)
    HUB_ID_FIELD_NUMBER: _ClassVar[int]
    hub_id: str
    def __init__(self, hub_id: _Optional[str] = ...) -> None: ...

class Dispatch(_message.Message):
    __slots__ = ("dispatch_id", "namespace", "campaign", "version", "stage", "inputs", "deadline", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    namespace: str
    campaign: str
    version: int
    stage: _struct_pb2.Struct
    inputs: _struct_pb2.Struct
    deadline: _timestamp_pb2.Timestamp
    headers: _containers.ScalarMap[str, str]
    def __init__(self, dispatch_id: _Optional[str] = ..., namespace: _Optional[str] = ..., campaign: _Optional[str] = ..., version: _Optional[int] = ..., stage: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ResultAck(_message.Message):
    __slots__ = ("dispatch_id",)
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    def __init__(self, dispatch_id: _Optional[str] = ...) -> None: ...

class CancelDispatch(_message.Message):
    __slots__ = ("dispatch_id", "reason", "terminate")
    DISPATCH_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TERMINATE_FIELD_NUMBER: _ClassVar[int]
    dispatch_id: str
    reason: str
    terminate: bool
    def __init__(self, dispatch_id: _Optional[str] = ..., reason: _Optional[str] = ..., terminate: _Optional[bool] = ...) -> None: ...

class Site(_message.Message):
    __slots__ = ("site_id", "state", "last_seen_time", "dispatches_in_flight", "plane_version")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    DISPATCHES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    PLANE_VERSION_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    state: SiteState
    last_seen_time: _timestamp_pb2.Timestamp
    dispatches_in_flight: int
    plane_version: str
    def __init__(self, site_id: _Optional[str] = ..., state: _Optional[_Union[SiteState, str]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dispatches_in_flight: _Optional[int] = ..., plane_version: _Optional[str] = ...) -> None: ...

class ListSitesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSitesResponse(_message.Message):
    __slots__ = ("sites", "next_page_token")
    SITES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    next_page_token: str
    def __init__(self, sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
