"""The Python worker SDK: a thin client over WorkerService (arrives with the workers issue)."""
