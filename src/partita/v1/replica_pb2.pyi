import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListReplicasRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Replica(_message.Message):
    __slots__ = ("id", "address", "start_time", "lease_expire_time", "alive", "owned_activations")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    OWNED_ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    address: str
    start_time: _timestamp_pb2.Timestamp
    lease_expire_time: _timestamp_pb2.Timestamp
    alive: bool
    owned_activations: int
    def __init__(self, id: _Optional[str] = ..., address: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., alive: _Optional[bool] = ..., owned_activations: _Optional[int] = ...) -> None: ...

class ListReplicasResponse(_message.Message):
    __slots__ = ("replicas", "self_id")
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    SELF_ID_FIELD_NUMBER: _ClassVar[int]
    replicas: _containers.RepeatedCompositeFieldContainer[Replica]
    self_id: str
    def __init__(self, replicas: _Optional[_Iterable[_Union[Replica, _Mapping]]] = ..., self_id: _Optional[str] = ...) -> None: ...

class DeliverInputRequest(_message.Message):
    __slots__ = ("namespace", "activation_id", "input_json", "request_id")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    activation_id: str
    input_json: str
    request_id: str
    def __init__(self, namespace: _Optional[str] = ..., activation_id: _Optional[str] = ..., input_json: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeliverInputResponse(_message.Message):
    __slots__ = ("state_json", "changed", "stop")
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    state_json: str
    changed: bool
    stop: bool
    def __init__(self, state_json: _Optional[str] = ..., changed: _Optional[bool] = ..., stop: _Optional[bool] = ...) -> None: ...
