"""Domain errors. The API layer maps each class to one gRPC status code."""

from __future__ import annotations


class IdcError(Exception):
    """Base class for errors caused by a request, naming the field at fault."""

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
