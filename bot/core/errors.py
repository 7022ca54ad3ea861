"""Refusals the core gives. Each carries a text key, so every channel can say it
in the user's language."""

from __future__ import annotations

from typing import Any


class HelpdeskError(Exception):
    """A refusal with a reason the user should read (not a crash)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotAllowed(HelpdeskError):
    """The person lacks the role for this action."""


class NotFound(HelpdeskError):
    """The thing named does not exist or is not visible to the person."""


class InvalidTransition(HelpdeskError):
    """A state change the ticket life cycle does not allow."""
