"""A Python client of the `customers` service, version 2.0.0.

Written by accord from `accounts_contract::customers::Customers`; do not edit, generate it again.

`CustomersClient` has one async method per request method, sending one HTTP call
with httpx. A method returns its value, or raises: the method's typed error
as a `ServiceError` subclass carrying it in `error`, any other problem
document (such as rejected input, whose `errors` name each field) as
`ProblemError`, a reply the contract does not describe as
`ProtocolError`, a call over its timeout as `TimeoutError`, and httpx's
own errors when the server cannot be reached.

Every schema is a pydantic model or a type alias. Fields keep their JSON
names on the wire and get a Python name in code where the JSON name is
none; a field that is not required is `None` when absent.

Registers customers and keeps their details.
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
    "Currency",
    "Customer",
    "CustomerChanges",
    "CustomerError",
    "CustomerErrorException",
    "CustomerErrorHandleTaken",
    "CustomerErrorStaleRevision",
    "CustomerErrorUnknownCustomer",
    "CustomerQuery",
    "CustomerRegistered",
    "CustomersClient",
    "CustomersEvents",
    "FieldError",
    "Money",
    "NewCustomer",
    "Problem",
    "ProblemError",
    "ProtocolError",
    "ServiceError",
    "Tier",
    "Topics",
]

# ---- Models ------------------------------------------------------------------


class Customer(_runtime.Model):
    """A customer as the service keeps them."""

    credit_limit: Money
    """The most the customer may owe."""
    email: str
    handle: str
    """The customer's unique handle, as it appears in paths."""
    name: str
    revision: _t.Annotated[int, _p.Field(ge=0, le=4294967295)]
    """Bumped by every change; `update_customer` expects the current one."""
    tier: Tier


class CustomerChanges(_runtime.Model):
    """Changes to a customer; fields left out stay as they are."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"email", "name", "tier"})

    email: str | None = None
    name: str | None = None
    tier: Tier | None = None


class CustomerQuery(_runtime.Model):
    """Which customers to find."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"tier"})

    name: str
    """Part of the name, any case."""
    tier: Tier | None = None


class CustomerRegistered(_runtime.Model):
    """Published once a customer registered."""

    email: str
    handle: str


class Money(_runtime.Model):
    """An amount of money in the currency's minor unit (cents)."""

    amount_minor: _t.Annotated[int, _p.Field(ge=-9223372036854775808, le=9223372036854775807)]
    """Minor units: 1050 is 10.50."""
    currency: Currency


class NewCustomer(_runtime.Model):
    """What a customer submits to register."""

    email: str
    handle: str
    """Letters, digits, `-` and `_`."""
    name: str


class CustomerErrorUnknownCustomer(_runtime.Model):
    """No customer has this handle."""

    code: _t.Literal["unknown_customer"] = "unknown_customer"
    handle: str


class CustomerErrorHandleTaken(_runtime.Model):
    """The handle is taken."""

    code: _t.Literal["handle_taken"] = "handle_taken"
    handle: str


class CustomerErrorStaleRevision(_runtime.Model):
    """The customer changed since the revision given."""

    code: _t.Literal["stale_revision"] = "stale_revision"
    current: _t.Annotated[int, _p.Field(ge=0, le=4294967295)]


# ---- Type aliases ------------------------------------------------------------

Currency: _t.TypeAlias = _t.Literal["EUR", "USD", "GBP"]
"""The currencies accounts are kept in."""

CustomerError: _t.TypeAlias = _t.Annotated[CustomerErrorUnknownCustomer | CustomerErrorHandleTaken | CustomerErrorStaleRevision, _p.Field(discriminator="code")]
"""What can go wrong with a customer."""

Tier: _t.TypeAlias = _t.Literal["standard", "gold"]
"""How much business a customer does."""

# ---- Errors ------------------------------------------------------------------


class CustomerErrorException(ServiceError[CustomerError]):
    """The typed error `CustomerError` as the server answered it; it is in `error`."""


Customer.model_rebuild()
CustomerChanges.model_rebuild()
CustomerQuery.model_rebuild()
CustomerRegistered.model_rebuild()
Money.model_rebuild()
NewCustomer.model_rebuild()
CustomerErrorUnknownCustomer.model_rebuild()
CustomerErrorHandleTaken.model_rebuild()
CustomerErrorStaleRevision.model_rebuild()

_ADAPTER_1: _p.TypeAdapter[CustomerError] = _p.TypeAdapter(CustomerError)
_ADAPTER_2: _p.TypeAdapter[NewCustomer] = _p.TypeAdapter(NewCustomer)
_ADAPTER_3: _p.TypeAdapter[Customer] = _p.TypeAdapter(Customer)
_ADAPTER_4: _p.TypeAdapter[CustomerChanges] = _p.TypeAdapter(CustomerChanges)
_ADAPTER_5: _p.TypeAdapter[CustomerQuery] = _p.TypeAdapter(CustomerQuery)
_ADAPTER_6: _p.TypeAdapter[list[Customer]] = _p.TypeAdapter(list[Customer])
_ADAPTER_7: _p.TypeAdapter[CustomerRegistered] = _p.TypeAdapter(CustomerRegistered)
_ERROR_CUSTOMER_ERROR_EXCEPTION: _runtime.TypedError[CustomerError] = _runtime.TypedError(_ADAPTER_1, CustomerErrorException)

# ---- Client ------------------------------------------------------------------


class CustomersClient:
    """A client of the `customers` service: one async method per request method.

    Registers customers and keeps their details.

    Use it as `async with CustomersClient(base_url) as client:`, or call `aclose()`
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

    async def register(
        self,
        customer: NewCustomer,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Customer:
        """`POST /customers`: Register a new customer.

        Raises `CustomerErrorException` with the typed error:

        - `UnknownCustomer` (404): No customer has this handle.
        - `HandleTaken` (409): The handle is taken.
        - `StaleRevision` (412): The customer changed since the revision given.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="register",
                method="POST",
                path="/customers",
                query=None,
                headers=_runtime.headers(),
                body=_ADAPTER_2.dump_json(customer),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_CUSTOMER_ERROR_EXCEPTION)

    async def get_customer(
        self,
        handle: str,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Customer:
        """`GET /customers/{handle}`: Fetch a customer by handle.

        Raises `CustomerErrorException` with the typed error:

        - `UnknownCustomer` (404): No customer has this handle.
        - `HandleTaken` (409): The handle is taken.
        - `StaleRevision` (412): The customer changed since the revision given.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="get_customer",
                method="GET",
                path="/customers/" + _runtime.encode_path_segment(handle),
                query=None,
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_CUSTOMER_ERROR_EXCEPTION)

    async def update_customer(
        self,
        handle: str,
        changes: CustomerChanges,
        revision: _t.Annotated[int, _p.Field(ge=0, le=4294967295)],
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Customer:
        """`PATCH /customers/{handle}`: Change a customer's details, if they are still at `revision`.

        Raises `CustomerErrorException` with the typed error:

        - `UnknownCustomer` (404): No customer has this handle.
        - `HandleTaken` (409): The handle is taken.
        - `StaleRevision` (412): The customer changed since the revision given.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="update_customer",
                method="PATCH",
                path="/customers/" + _runtime.encode_path_segment(handle),
                query=None,
                headers=_runtime.headers(("if-match", revision)),
                body=_ADAPTER_4.dump_json(changes),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_CUSTOMER_ERROR_EXCEPTION)

    async def search(
        self,
        query: CustomerQuery,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> list[Customer]:
        """`GET /customers`: Find customers by name."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="search",
                method="GET",
                path="/customers",
                query=_runtime.encode_query(None if query is None else _ADAPTER_5.dump_python(query, mode="json")),
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_6, None)


# ---- Events ------------------------------------------------------------------


class Topics:
    """The topic each event is published on."""

    CUSTOMER_REGISTERED: _t.Final = "customers.registered"
    """Published once a customer registered."""


CustomersEvents = _t.TypedDict(
    "CustomersEvents",
    {
        "customers.registered": CustomerRegistered,
    },
)
"""The payload type of each event, by topic."""

EVENT_PAYLOADS: _t.Final[_Mapping[str, _p.TypeAdapter[_t.Any]]] = {
    "customers.registered": _ADAPTER_7,
}
"""How to decode the payload of each event, by topic: `EVENT_PAYLOADS[topic].validate_json(body)`."""
