"""Domain errors. The API layer maps each class to one gRPC status code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)``, shortened so that error messages stay small whatever a client sent."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]} ({len(str(value))} characters)"


class IdcError(Exception):
    """Base class for errors caused by a request, naming the field at fault.

    ``of_the_server`` marks an error about the server's state (a full queue, a
    shutdown, a lost worker), not about any field: ``field_prefix`` leaves it
    unnamed. Set it with ``of_the_server``.
    """

    of_the_server = False

    def __init__(self, field: str, description: str) -> None:
        super().__init__(field, description)
        self.field = field
        self.description = description

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class InvalidArgumentError(IdcError):
    """A request value is malformed or out of range."""


class NotFoundError(IdcError):
    """The requested thing, such as a symbol or a window of bars, does not exist."""


class FailedPreconditionError(IdcError):
    """The request is fine but the server's data for it cannot be served, e.g. a symbol whose file is invalid."""


class ResourceExhaustedError(IdcError):
    """A request over one of the server's budgets, or a moment when it has no room for more work.

    ``retry_after_seconds`` is set when trying again later may succeed (a
    full queue), and left at 0 when the request itself is too large.
    """

    def __init__(self, field: str, description: str, retry_after_seconds: float = 0.0) -> None:
        super().__init__(field, description)
        self.retry_after_seconds = retry_after_seconds

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.description, self.retry_after_seconds))


class UnavailableError(IdcError):
    """The work could not be done now for a reason of the server's own (a worker died); retrying may succeed."""


Error = TypeVar("Error", bound=IdcError)


def of_the_server(error: Error) -> Error:
    """``error``, marked as about the server's state rather than a field of the request (see ``IdcError``)."""
    error.of_the_server = True
    return error


@contextmanager
def field_prefix(prefix: str) -> Iterator[None]:
    """Name the fields of errors raised in the body as children of ``prefix``.

    An indicator names its own parameter (``period``); its caller knows where
    that sits in the request (``panels[1].rsi.period``).
    """
    try:
        yield
    except IdcError as error:
        if not error.of_the_server:
            error.field = f"{prefix}.{error.field}" if error.field else prefix
        raise


@contextmanager
def field_renamed(old: str, new: str) -> Iterator[None]:
    """Re-root the fields of errors raised in the body from ``old`` to ``new``.

    For a caller whose request names a thing differently from the core, such
    as GetMACDGraph's ``parameters`` for the chart's ``panels[0].macd``.
    """
    try:
        yield
    except IdcError as error:
        if error.field == old or error.field.startswith(f"{old}."):
            error.field = new + error.field[len(old) :]
        raise
