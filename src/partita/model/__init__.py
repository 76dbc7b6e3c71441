"""Pydantic models of campaigns and activations, and loading of YAML/JSON documents."""
