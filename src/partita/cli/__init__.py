"""The ``partita`` command: a thin gRPC client of a plane, and the way to start one.

Modules: ``main`` builds the parser and maps errors to exit codes; ``client`` holds the
channel, paging and the activation follower; ``output`` and ``views`` print; ``values``
parses command-line values; ``resources``, ``control`` and ``site`` hold the commands.
Only ``site`` imports the plane (lazily), so client commands start fast.
"""
