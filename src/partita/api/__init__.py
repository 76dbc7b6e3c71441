"""gRPC servicers: protobuf <-> domain, errors -> status codes, the server."""
