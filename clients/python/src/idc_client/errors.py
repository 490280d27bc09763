"""Client-side errors, and the field violations carried by gRPC errors.

Server errors are not wrapped: a failed call raises the ``grpc.RpcError`` that
grpcio raised, so callers can use ``error.code()`` and ``error.details()``.
``field_violations`` reads the ``google.rpc.BadRequest`` detail that the idc
server attaches to INVALID_ARGUMENT errors.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = ["IntegrityError", "ProtocolError", "field_violations"]


class IntegrityError(Exception):
    """A streamed image did not match its metadata, or the stream was malformed.

    Raised when the first message of a ``GetChart`` or ``GetMACDGraph``
    stream is not the metadata, when the stream ends before any metadata,
    when metadata is repeated, or when the reassembled bytes differ in size
    or SHA-256 from what the metadata announced.
    """


class ProtocolError(IntegrityError):
    """A chart stream broke the protocol: no metadata first, or metadata twice.

    A subclass of ``IntegrityError``, so ``except IntegrityError`` still
    catches it; the ``idc-client`` command exits with INTERNAL (13) for it
    and DATA_LOSS (15) for bytes that do not match the metadata, as Go's
    ``idc.ErrProtocol`` and ``idc.ErrIntegrity`` do.
    """


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The ``(field, description)`` pairs of the ``BadRequest`` details of ``error``.

    The idc server names the request field at fault this way for
    INVALID_ARGUMENT errors, e.g. ``[("start_date", "...")]``,
    ``[("parameters.fast_period", "...")]`` or
    ``[("panels[1].rsi.period", "...")]``. Returns an empty list when the
    error carries no rich status (e.g. NOT_FOUND, DEADLINE_EXCEEDED, or an
    error raised by something other than a call) or no ``BadRequest`` detail.
    """
    if not isinstance(error, grpc.Call):
        return []
    try:
        status: status_pb2.Status | None = rpc_status.from_call(error)
    except ValueError:
        # The rich status disagrees with the call's own code or message.
        return []
    if status is None:
        return []
    pairs: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            pairs.extend((v.field, v.description) for v in bad_request.field_violations)
    return pairs
