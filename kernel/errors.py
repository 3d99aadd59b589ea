"""Errors shared by every service.

Pure Python on purpose: domain code raises these, the RPC edge serialises them and
the gateway maps them to HTTP statuses in one table. Each error carries a
machine-readable ``code`` and, where a field is at fault, the field's name.
"""
from __future__ import annotations


class EldercareError(Exception):
    """Base of every error this system raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}

    @classmethod
    def from_dict(cls, data: dict) -> "EldercareError":
        """Rebuild an error that crossed an RPC boundary as its ``to_dict()``."""
        error = cls.__new__(cls)
        Exception.__init__(error, data)
        for name, value in data.items():
            if name != "code":
                setattr(error, name, value)
        error.message, error.field = data.get("message", ""), data.get("field")
        return error


class ValidationError(EldercareError):
    """Input was refused; ``errors`` maps each bad field to its messages. Nothing was written."""

    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]] | str, *, field: str | None = None):
        if isinstance(errors, str):
            errors = {field or "_schema": [errors]}
        self.errors = {name: list(msgs) if isinstance(msgs, (list, tuple)) else [str(msgs)]
                       for name, msgs in errors.items()}
        summary = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in self.errors.items())
        super().__init__(f"invalid input — {summary}", field=next(iter(self.errors), None))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "errors": self.errors}


class CommandRejected(EldercareError):
    """A well-formed command that the rules refuse (e.g. elder already deceased)."""

    code = "command_rejected"


class NotFoundError(EldercareError):
    code = "not_found"


class ConflictError(EldercareError):
    """The request clashes with existing state (duplicate id, already merged...)."""

    code = "conflict"


class CommandIdReused(ConflictError):
    """A command id already used for another request (another method or other arguments).
    The gateway answers 422, as the IETF Idempotency-Key draft asks for a reused key."""

    code = "command_id_reused"


class ConcurrencyError(ConflictError):
    """An append expected a stream version that is no longer current. Nothing was written."""

    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected: int, actual: int):
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the append expected {expected}; "
            "reload and retry", field="expected_version")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual

    def to_dict(self) -> dict:
        return {**super().to_dict(), "stream_id": self.stream_id, "expected": self.expected,
                "actual": self.actual}


class UnknownEventTypeError(EldercareError):
    """An event type (or version) that the catalogue does not know."""

    code = "unknown_event_type"


class EventSchemaError(ValidationError):
    """An event payload that does not match its declared schema (on write or on read)."""

    code = "event_schema_mismatch"


class PolicyError(EldercareError):
    """Jurisdiction policy data is missing or malformed."""

    code = "policy_error"


class NotPermittedError(EldercareError):
    """The caller may not do this (outside their jurisdiction, above their role); the
    gateway answers 403."""

    code = "forbidden"


class AuthenticationError(EldercareError):
    """Who is calling is not established: no, a wrong, an expired or a revoked credential.
    Defined here, not in the gateway, because the accounts service raises it over RPC."""

    code = "unauthenticated"


class AccountLockedError(AuthenticationError):
    """Too many failed sign-ins (or an administrator): the account is locked until
    ``locked_until`` (UTC ISO; None: until an administrator unlocks it)."""

    code = "account_locked"

    def __init__(self, message: str, *, locked_until: str | None = None, field: str | None = "login"):
        super().__init__(message, field=field)
        self.locked_until = locked_until

    def to_dict(self) -> dict:
        return {**super().to_dict(), "locked_until": self.locked_until}

    @classmethod
    def from_dict(cls, data: dict) -> "AccountLockedError":
        error = super().from_dict(data)
        if error.locked_until in ("None", ""):      # nameko's RPC sends None as text
            error.locked_until = None
        return error


class TooManyAttemptsError(AuthenticationError):
    """Too many failed sign-ins from one client address: try again after ``retry_after_seconds``."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int = 60, field: str | None = "client_address"):
        super().__init__(message, field=field)
        self.retry_after_seconds = retry_after_seconds

    def to_dict(self) -> dict:
        return {**super().to_dict(), "retry_after_seconds": self.retry_after_seconds}

    @classmethod
    def from_dict(cls, data: dict) -> "TooManyAttemptsError":
        error = super().from_dict(data)
        error.retry_after_seconds = int(error.retry_after_seconds)   # nameko's RPC sends it as text
        return error
