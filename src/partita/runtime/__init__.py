"""The plane's runtime: drives the engine, owns timers, retention and recovery."""

from partita.runtime.config import PlaneConfig
from partita.runtime.plane import Plane, PlaneState, WatchItem

__all__ = ["Plane", "PlaneConfig", "PlaneState", "WatchItem"]
