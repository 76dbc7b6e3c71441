"""Partita: a durable workflow control plane for hub-to-edge work."""

__version__ = "0.1.0"
