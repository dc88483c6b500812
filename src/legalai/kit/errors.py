"""Domain errors carry their HTTP status and a message a user can read.

    DomainError
     +-- Unauthenticated (401)   no or invalid credentials
     +-- Forbidden (403)         authenticated, but role or scope does not allow it
     +-- NotFound (404)            unknown id, or an object the principal may not see
     +-- Conflict (409)
     +-- InvalidInput (422)        also: EmptyFile
     +-- PayloadTooLarge (413)
     +-- UnsupportedMediaType (415)
     +-- ServiceUnavailable (503)

One exception handler renders them as ``application/problem+json`` (RFC 9457).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthenticated(DomainError):
    status_code = 401
    title = "Authentication required"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class InvalidInput(DomainError):
    status_code = 422
    title = "Invalid input"


class PayloadTooLarge(DomainError):
    status_code = 413
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    title = "Unsupported media type"


class ServiceUnavailable(DomainError):
    status_code = 503
    title = "Service unavailable"
