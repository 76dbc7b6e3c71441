"""What the API adapters share: protobuf <-> domain conversion and error -> status mapping.

Both adapters over the runtime (``partita.api`` for gRPC, ``partita.web`` for the console's
JSON API) speak the same messages and the same errors, so both import them from here.
"""
