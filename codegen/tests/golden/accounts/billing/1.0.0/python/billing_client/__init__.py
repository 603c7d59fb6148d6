"""A Python client of the `billing` service, version 1.0.0.

Written by accord from `accounts_contract::Billing`; do not edit, generate it again.

`BillingClient` has one async method per request method, sending one HTTP call
with httpx. A method returns its value, or raises: the method's typed error
as a `ServiceError` subclass carrying it in `error`, any other problem
document (such as rejected input, whose `errors` name each field) as
`ProblemError`, a reply the contract does not describe as
`ProtocolError`, a call over its timeout as `TimeoutError`, and httpx's
own errors when the server cannot be reached.

Every schema is a pydantic model or a type alias. Fields keep their JSON
names on the wire and get a Python name in code where the JSON name is
none; a field that is not required is `None` when absent.

Issues invoices and records payments.
"""

from __future__ import annotations

import typing as _t
from collections.abc import Mapping as _Mapping

import httpx as _httpx
import pydantic as _p
import typing_extensions as _te

from . import _runtime
from ._runtime import DEFAULT_REPLY_LIMIT as DEFAULT_REPLY_LIMIT
from ._runtime import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._runtime import FieldError as FieldError
from ._runtime import Problem as Problem
from ._runtime import ProblemError as ProblemError
from ._runtime import ProtocolError as ProtocolError
from ._runtime import ServiceError as ServiceError

__all__ = [
    "DEFAULT_REPLY_LIMIT",
    "DEFAULT_TIMEOUT",
    "EVENT_PAYLOADS",
    "BillingClient",
    "BillingError",
    "BillingErrorException",
    "BillingErrorInvalidTotal",
    "BillingErrorOverCreditLimit",
    "BillingEvents",
    "Currency",
    "FieldError",
    "Invoice",
    "InvoicePaid",
    "Money",
    "NewInvoice",
    "Period",
    "Problem",
    "ProblemError",
    "ProtocolError",
    "ServiceError",
    "Topics",
]

# ---- Models ------------------------------------------------------------------


class Invoice(_runtime.Model):
    """An invoice to a customer."""

    customer: str
    """The customer's handle."""
    id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    paid: bool
    period: Period
    """The days it covers, first and last (ISO 8601 dates)."""
    total: Money


class InvoicePaid(_runtime.Model):
    """Published when an invoice is paid."""

    amount: Money
    invoice_id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


class Money(_runtime.Model):
    """An amount of money in the currency's minor unit (cents)."""

    amount_minor: _t.Annotated[int, _p.Field(ge=-9223372036854775808, le=9223372036854775807)]
    """Minor units: 1050 is 10.50."""
    currency: Currency


class NewInvoice(_runtime.Model):
    """What issuing an invoice takes."""

    customer: str
    period: Period
    total: Money


class BillingErrorInvalidTotal(_runtime.Model):
    """The total is not positive."""

    code: _t.Literal["invalid_total"] = "invalid_total"
    total: Money


class BillingErrorOverCreditLimit(_runtime.Model):
    """The customer's credit limit would be exceeded."""

    code: _t.Literal["over_credit_limit"] = "over_credit_limit"
    limit: Money


# ---- Type aliases ------------------------------------------------------------

BillingError: _t.TypeAlias = _t.Annotated[BillingErrorInvalidTotal | BillingErrorOverCreditLimit, _p.Field(discriminator="code")]
"""What can go wrong in billing."""

Currency: _t.TypeAlias = _t.Literal["EUR", "USD", "GBP"]
"""The currencies accounts are kept in."""

Period: _t.TypeAlias = tuple[str, str]
"""A span of days: first and last, as ISO 8601 dates."""

# ---- Errors ------------------------------------------------------------------


class BillingErrorException(ServiceError[BillingError]):
    """The typed error `BillingError` as the server answered it; it is in `error`."""


Invoice.model_rebuild()
InvoicePaid.model_rebuild()
Money.model_rebuild()
NewInvoice.model_rebuild()
BillingErrorInvalidTotal.model_rebuild()
BillingErrorOverCreditLimit.model_rebuild()

_ADAPTER_1: _p.TypeAdapter[BillingError] = _p.TypeAdapter(BillingError)
_ADAPTER_2: _p.TypeAdapter[NewInvoice] = _p.TypeAdapter(NewInvoice)
_ADAPTER_3: _p.TypeAdapter[Invoice] = _p.TypeAdapter(Invoice)
_ADAPTER_4: _p.TypeAdapter[list[Invoice]] = _p.TypeAdapter(list[Invoice])
_ADAPTER_5: _p.TypeAdapter[InvoicePaid] = _p.TypeAdapter(InvoicePaid)
_ERROR_BILLING_ERROR_EXCEPTION: _runtime.TypedError[BillingError] = _runtime.TypedError(_ADAPTER_1, BillingErrorException)

# ---- Client ------------------------------------------------------------------


class BillingClient:
    """A client of the `billing` service: one async method per request method.

    Issues invoices and records payments.

    Use it as `async with BillingClient(base_url) as client:`, or call `aclose()`
    when done. Each call takes `timeout` (seconds; the client's when left
    out) and `headers` (sent with that call only).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        headers: _Mapping[str, str] | None = None,
        reply_limit: int = DEFAULT_REPLY_LIMIT,
        http_client: _httpx.AsyncClient | None = None,
    ) -> None:
        """A client of the server at `base_url`, such as `http://127.0.0.1:8080`.

        `timeout` bounds each whole call, in seconds (`None`: no bound);
        `headers` go with every call (such as `authorization`); a reply body
        over `reply_limit` bytes is refused; `http_client` is used instead of
        a client of its own (and not closed by `aclose`).
        """
        self._connection = _runtime.Connection(
            base_url,
            timeout=timeout,
            headers=headers,
            reply_limit=reply_limit,
            http_client=http_client,
        )

    async def aclose(self) -> None:
        """Closes the connections."""
        await self._connection.aclose()

    async def __aenter__(self) -> _te.Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def issue_invoice(
        self,
        invoice: NewInvoice,
        key: str,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Invoice:
        """`POST /invoices`: Issue an invoice. Sending the same idempotency key again returns the invoice issued the first time.

        Raises `BillingErrorException` with the typed error:

        - `InvalidTotal` (422): The total is not positive.
        - `OverCreditLimit` (402): The customer's credit limit would be exceeded.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="issue_invoice",
                method="POST",
                path="/invoices",
                query=None,
                headers=_runtime.headers(("idempotency-key", key)),
                body=_ADAPTER_2.dump_json(invoice),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_BILLING_ERROR_EXCEPTION)

    async def invoices(
        self,
        customer: str,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> list[Invoice]:
        """`GET /customers/{customer}/invoices`: A customer's invoices, newest first."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="invoices",
                method="GET",
                path="/customers/" + _runtime.encode_path_segment(customer) + "/invoices",
                query=None,
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_4, None)


# ---- Events ------------------------------------------------------------------


class Topics:
    """The topic each event is published on."""

    INVOICE_PAID: _t.Final = "billing.invoice_paid"
    """Published when an invoice is paid; a failing handler is retried."""


BillingEvents = _t.TypedDict(
    "BillingEvents",
    {
        "billing.invoice_paid": InvoicePaid,
    },
)
"""The payload type of each event, by topic."""

EVENT_PAYLOADS: _t.Final[_Mapping[str, _p.TypeAdapter[_t.Any]]] = {
    "billing.invoice_paid": _ADAPTER_5,
}
"""How to decode the payload of each event, by topic: `EVENT_PAYLOADS[topic].validate_json(body)`."""
