"""The one error an integration answers with."""

from __future__ import annotations


class DriverError(Exception):
    """The integration refused or failed an operation; `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
