"""The web console and its JSON API: another adapter over the runtime, beside ``partita.api``.

Every plane serves it on ``--http-listen`` (default ``127.0.0.1:7601``) from its own process
and event loop: pages for campaigns (drawn as graphs), activations (listed, and one colored
stage by stage with live updates), sites on a hub, and the JSON API under ``/api/v1/`` that
the pages use, with the gRPC API's messages in protobuf's JSON mapping and its errors.
"""

from partita.web.server import WebServer, parse_address

__all__ = ["WebServer", "parse_address"]
