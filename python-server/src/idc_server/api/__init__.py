"""The thin gRPC layer: validate, call the core, convert the result."""
