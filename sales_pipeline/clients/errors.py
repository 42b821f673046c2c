"""The one exception family every client method raises.

Client methods return data or raise a subclass of `ApiError`; they never return
``{"success": false}``-style dicts. Per-record outcomes of batch calls are data
(a result row per input), not exceptions.

Every error carries the vendor, the operation, the HTTP status (``None`` when
no response came back), the vendor's correlation id when it sent one, and
whether retrying the same call is safe and may succeed (``retryable``). Messages
are passed through `redact` on construction, and are built from the vendor's
error text only: request bodies are never echoed.

The class names are the ones the design document fixes (hence the ``N818``
exemptions for names without an ``Error`` suffix). Who must act, as Airbyte's
config / system / transient classes say it: *config*, the operator fixes a
setting (a credential's variable, a resource field); *record*, one record is
refused and the others go on; *vendor*, the vendor must recover (a retry later
helps, now does not); *transient*, a retry now may succeed::

    ApiError
    ├── AuthError            401/403, refused credential or grant        config
    ├── RateLimited          429, or no local permit in time             transient
    ├── NotFound             404                                         record
    ├── Conflict             409, HubSpot 423                            record
    ├── InvalidRequest       400, 414, 422, other 4xx                    record
    ├── ServerError          5xx, dropped connection, unreadable body    transient
    ├── ApiTimeout           no complete answer in time                  transient
    ├── CircuitOpen          the vendor's breaker is open                vendor
    ├── QuotaExhausted       daily limit, out of credits                 config (buy or wait)
    ├── ResponseTooLarge     the answer passed its operation's size cap  vendor
    ├── Cancelled            the client was cancelled (run terminated)   nobody
    └── InputValidationError a record failed validation; nothing sent    record
        └── RequestTooLarge  the request passed a vendor's documented size  record
"""

from __future__ import annotations

from typing import Any

from sales_pipeline.clients.redaction import redact


class ApiError(Exception):
    """A failed call to a vendor API.

    Attributes:
        vendor: ``"hubspot"``, ``"explorium"`` or ``"lemlist"``.
        operation: The client operation that failed, e.g. ``"search_contacts"``.
        status: HTTP status of the last response, or ``None`` if none came back.
        correlation_id: The vendor's id for the failed request, for support tickets.
        retryable: True when the same call may succeed later and repeating it
            cannot duplicate a write.
        retry_after: Seconds the vendor asked us to wait, or the minimum wait a
            rule imposes (e.g. HubSpot 423); ``None`` when unknown.
        vendor_message: The vendor's own error text (masked, bounded), in whatever
            body shape it came (see `sales_pipeline.clients.answers`); ``None`` when
            the answer carried none or no answer came back.
        partial: For batch methods, the per-input results of the batches that
            completed before this failure, in input order (empty otherwise), so
            work already paid for is not lost.
    """

    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        operation: str,
        status: int | None = None,
        correlation_id: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        vendor_message: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.vendor_message = redact(vendor_message) if vendor_message is not None else None
        self.vendor = vendor
        self.operation = operation
        self.status = status
        self.correlation_id = correlation_id
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.partial: list[Any] = []
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [f"{self.vendor}.{self.operation}: {self.message}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.correlation_id:
            parts.append(f"correlation_id={self.correlation_id}")
        parts.append(f"retryable={self.retryable}")
        return " ".join(parts)


class AuthError(ApiError):
    """Credentials missing, wrong, expired beyond refresh, or lacking scopes (401/403)."""


class RateLimited(ApiError):  # noqa: N818 - name fixed by the design
    """The vendor answered 429 (or our own limiter could not grant a permit in time)."""

    default_retryable = True


class NotFound(ApiError):  # noqa: N818 - name fixed by the design
    """The addressed resource does not exist (404)."""


class Conflict(ApiError):  # noqa: N818 - name fixed by the design
    """The request conflicts with the resource's state (409, HubSpot 423 locked)."""


class InvalidRequest(ApiError):  # noqa: N818 - name fixed by the design
    """The vendor rejected the request as malformed (400, 414, 422 and other 4xx)."""


class ServerError(ApiError):
    """The vendor failed (5xx), the connection dropped, or a 2xx body was unreadable."""

    default_retryable = True


class ApiTimeout(ApiError):  # noqa: N818 - name fixed by the design
    """No complete answer within the connect/read/total timeout (or a 408)."""

    default_retryable = True


class CircuitOpen(ApiError):  # noqa: N818 - name fixed by the design
    """The vendor's circuit breaker is open: the call was not attempted.

    ``retry_after`` tells how long until the breaker lets a probe through.
    """

    default_retryable = True


class QuotaExhausted(ApiError):  # noqa: N818 - name fixed by the design
    """A quota that will not free up within this run is used up.

    HubSpot's DAILY limit (resets at midnight in the account's time zone) and
    Explorium's 403 out-of-credits. Not retryable: stop calling this vendor.
    """


class ResponseTooLarge(ApiError):  # noqa: N818 - named like its siblings
    """The answer passed its operation's size cap; reading stopped there.

    Not retryable: the same request would get the same answer. Ask for less
    (smaller pages or batches) or raise the cap (`TransportConfig.response_caps`).
    """


class Cancelled(ApiError):  # noqa: N818 - named like its siblings
    """The client was cancelled (``client.cancel()``, e.g. the run was terminated).

    Raised by the call that was in flight or waiting, and by every later call;
    whether an interrupted write reached the vendor is unknown.
    """


class InputValidationError(ApiError, ValueError):
    """An input record failed validation; nothing was sent to the vendor.

    Attributes:
        field: Path of the offending field, e.g. ``"leads[3].email"``.
    """

    def __init__(self, message: str, *, vendor: str, operation: str, field: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", vendor=vendor, operation=operation)


class RequestTooLarge(InputValidationError):  # noqa: N818 - named like its siblings
    """The request passed a vendor's documented limit (items per batch, body bytes);
    nothing was sent."""
