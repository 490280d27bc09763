"""Maps domain errors to gRPC statuses, in one place.

INVALID_ARGUMENT statuses carry a ``google.rpc.BadRequest`` detail whose
field violations name the request field at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from idc_server.core.errors import (
    FailedPreconditionError,
    IdcError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
)

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 1000

_CODES: dict[type[IdcError], int] = {
    InvalidArgumentError: code_pb2.INVALID_ARGUMENT,
    NotFoundError: code_pb2.NOT_FOUND,
    FailedPreconditionError: code_pb2.FAILED_PRECONDITION,
    ResourceExhaustedError: code_pb2.RESOURCE_EXHAUSTED,
    UnavailableError: code_pb2.UNAVAILABLE,
}


def to_status(error: IdcError) -> grpc.Status:
    """The gRPC status for a domain error."""
    field = error.field
    code = next(code for cls, code in _CODES.items() if isinstance(error, cls))
    # Status and details travel in trailing metadata, which clients cap (8 KiB
    # by default): keep them short whatever produced the description.
    description = error.description[:MAX_DESCRIPTION]
    message = f"{field}: {description}" if field else description
    details = []
    if code == code_pb2.INVALID_ARGUMENT:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        details.append(detail)
    retry_after = getattr(error, "retry_after_seconds", 0.0)
    if retry_after > 0:
        # google.rpc.RetryInfo: how long to wait before trying again.
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(round(retry_after * 1e9))
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=details))


@contextmanager
def domain_errors(context: grpc.ServicerContext) -> Iterator[None]:
    """Abort the RPC with the mapped status if the body raises an IdcError."""
    try:
        yield
    except IdcError as error:
        status = to_status(error)
        log.info("rejected request: %s %s", status.code.name, status.details)
        abort(context, status)


def abort(context: grpc.ServicerContext, status: grpc.Status) -> NoReturn:
    """Abort with a rich status (never returns)."""
    context.abort_with_status(status)
    raise AssertionError("abort_with_status returned")  # pragma: no cover
