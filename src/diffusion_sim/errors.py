"""Errors meant for people: one clear message naming the file, the field and what was expected."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake in something a user wrote (a scenario, an option, an input file).

    The CLI prints ``error: <message>`` and exits with status 2; no traceback, no partial output.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        self.message = message
        parts = [p for p in (source, field) if p]
        super().__init__(": ".join([*parts, message]))
