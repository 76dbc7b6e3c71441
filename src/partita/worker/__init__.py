"""The Python worker SDK: a thin client over WorkerService that runs stage tasks.

    from partita.worker import Worker

    def add(inputs):
        return {"sum": inputs["a"] + inputs["b"]}

    Worker("127.0.0.1:7600", "math", {"add": add}).run_forever()

It imports nothing of the plane: only the generated ``partita.v1`` stubs, grpc and protobuf.
"""

from partita.worker._context import TaskContext, TaskInfo
from partita.worker._errors import NonRetryableError, WorkerError
from partita.worker._handlers import Handler
from partita.worker._worker import Worker, WorkerState

__all__ = [
    "Handler",
    "NonRetryableError",
    "TaskContext",
    "TaskInfo",
    "Worker",
    "WorkerError",
    "WorkerState",
]
