"""Domain errors. One handler in api/ maps each to a status code; nothing below api/ knows HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""


class NotFound(DomainError):
    """The record does not exist, or lies outside the caller's region (ids must not leak)."""

    def __init__(self, entity: str, ident: object = None) -> None:
        super().__init__(f"{entity} not found")
        self.entity = entity
        self.ident = ident


class Invalid(DomainError):
    """Input that is well-formed but wrong: names the field and the reason."""

    def __init__(self, field: str | list[str | int], reason: str) -> None:
        super().__init__(reason)
        self.loc = [field] if isinstance(field, str) else list(field)
        self.reason = reason


class Conflict(DomainError):
    """The request disagrees with what is stored (a reused id, a duplicate credit code …)."""


class TransitionNotAllowed(Conflict):
    """A lifecycle move the table does not allow from the hazard's current state."""


class Forbidden(DomainError):
    """The caller's role may not do this."""


class RateLimited(DomainError):
    """Too many failed attempts; try again later."""


class Unauthorized(DomainError):
    """No valid credentials."""
