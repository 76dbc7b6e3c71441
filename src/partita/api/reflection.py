"""Server reflection whose descriptors carry ``json_name``.

The generated modules' descriptors leave ``json_name`` unset, so reflection clients such as
grpcurl would print ``stage_runs`` where protobuf's JSON mapping (and our docs) say
``stageRuns``. Serving copies with ``json_name`` filled in makes every client agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection


def json_name(name: str) -> str:
    """protobuf's rule: drop each underscore and capitalize the letter after it."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _fill(message: descriptor_pb2.DescriptorProto) -> None:
    for field in message.field:
        if not field.json_name:
            field.json_name = json_name(field.name)
    for nested in message.nested_type:
        _fill(nested)


def pool_with_json_names(
    files: Iterable[descriptor.FileDescriptor],
) -> descriptor_pool.DescriptorPool:
    """A pool holding ``files`` and their dependencies, every field's ``json_name`` set."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: descriptor.FileDescriptor) -> None:
        if file.name in added:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        for message in proto.message_type:
            _fill(message)
        pool.Add(proto)
        added.add(file.name)

    for file in files:
        add(file)
    return pool


def enable(
    server: grpc.aio.Server, services: list[str], files: Iterable[descriptor.FileDescriptor]
) -> None:
    """Serve reflection for ``services`` (full names) from ``files``."""
    reflection.enable_server_reflection(services, server, pool=pool_with_json_names(files))
