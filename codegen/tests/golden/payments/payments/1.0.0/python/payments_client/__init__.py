"""A Python client of the `payments` service, version 1.0.0.

Written by accord from `payments_contract::Payments`; do not edit, generate it again.

`PaymentsClient` has one async method per request method, sending one HTTP call
with httpx. A method returns its value, or raises: the method's typed error
as a `ServiceError` subclass carrying it in `error`, any other problem
document (such as rejected input, whose `errors` name each field) as
`ProblemError`, a reply the contract does not describe as
`ProtocolError`, a call over its timeout as `TimeoutError`, and httpx's
own errors when the server cannot be reached.

Every schema is a pydantic model or a type alias. Fields keep their JSON
names on the wire and get a Python name in code where the JSON name is
none; a field that is not required is `None` when absent.

Takes and refunds payments.
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
    "Charge",
    "Charged",
    "Credential",
    "FieldError",
    "Health",
    "NewCharge",
    "PaymentError",
    "PaymentErrorAlreadyRefunded",
    "PaymentErrorException",
    "PaymentErrorNotFound",
    "PaymentErrorZeroAmount",
    "PaymentsClient",
    "PaymentsEvents",
    "Problem",
    "ProblemError",
    "ProtocolError",
    "ServiceError",
    "Topics",
    "Totals",
]

# ---- Credentials -------------------------------------------------------------

Credential: _te.TypeAlias = "str | _t.Callable[[], str | _t.Awaitable[str]]"
"""A credential: the text itself, or a function (sync or async) returning it."""


async def _credential_text(source: Credential) -> str:
    if isinstance(source, str):
        return source
    value = source()
    if isinstance(value, str):
        return value
    return await value


# ---- Models ------------------------------------------------------------------


class Charge(_runtime.Model):
    """A charge made."""

    amount_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    charged_by: str
    """The subject of the credential that made the charge."""
    customer: str
    id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    refunded: bool


class Charged(_runtime.Model):
    """Published when a charge is made."""

    amount_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    charge_id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    customer: str


class Health(_runtime.Model):
    """Whether the service is up."""

    ok: bool


class NewCharge(_runtime.Model):
    """A charge to make."""

    amount_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    """The amount in cents."""
    customer: str
    """The customer's handle."""


class Totals(_runtime.Model):
    """The totals of every charge so far."""

    charged_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    charges: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    refunded_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


class PaymentErrorNotFound(_runtime.Model):
    """No charge has this id."""

    code: _t.Literal["not_found"] = "not_found"
    id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


class PaymentErrorZeroAmount(_runtime.Model):
    """The amount is zero."""

    code: _t.Literal["zero_amount"] = "zero_amount"


class PaymentErrorAlreadyRefunded(_runtime.Model):
    """The charge was refunded already."""

    code: _t.Literal["already_refunded"] = "already_refunded"
    id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


# ---- Type aliases ------------------------------------------------------------

PaymentError: _t.TypeAlias = _t.Annotated[PaymentErrorNotFound | PaymentErrorZeroAmount | PaymentErrorAlreadyRefunded, _p.Field(discriminator="code")]
"""What can go wrong with a charge."""

# ---- Errors ------------------------------------------------------------------


class PaymentErrorException(ServiceError[PaymentError]):
    """The typed error `PaymentError` as the server answered it; it is in `error`."""


Charge.model_rebuild()
Charged.model_rebuild()
Health.model_rebuild()
NewCharge.model_rebuild()
Totals.model_rebuild()
PaymentErrorNotFound.model_rebuild()
PaymentErrorZeroAmount.model_rebuild()
PaymentErrorAlreadyRefunded.model_rebuild()

_ADAPTER_1: _p.TypeAdapter[PaymentError] = _p.TypeAdapter(PaymentError)
_ADAPTER_2: _p.TypeAdapter[NewCharge] = _p.TypeAdapter(NewCharge)
_ADAPTER_3: _p.TypeAdapter[Charge] = _p.TypeAdapter(Charge)
_ADAPTER_4: _p.TypeAdapter[Totals] = _p.TypeAdapter(Totals)
_ADAPTER_5: _p.TypeAdapter[Health] = _p.TypeAdapter(Health)
_ADAPTER_6: _p.TypeAdapter[Charged] = _p.TypeAdapter(Charged)
_ERROR_PAYMENT_ERROR_EXCEPTION: _runtime.TypedError[PaymentError] = _runtime.TypedError(_ADAPTER_1, PaymentErrorException)

# ---- Client ------------------------------------------------------------------


class PaymentsClient:
    """A client of the `payments` service: one async method per request method.

    Takes and refunds payments.

    Use it as `async with PaymentsClient(base_url) as client:`, or call `aclose()`
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
        token: Credential | None = None,
        api_key: Credential | None = None,
    ) -> None:
        """A client of the server at `base_url`, such as `http://127.0.0.1:8080`.

        `timeout` bounds each whole call, in seconds (`None`: no bound);
        `headers` go with every call (such as `authorization`); a reply body
        over `reply_limit` bytes is refused; `http_client` is used instead of
        a client of its own (and not closed by `aclose`).

        `token` is the bearer token sent to the requests that require one
        (`Authorization: Bearer <token>`): a string, or a function (sync or
        async) returning one, called before every such call so it may
        refresh the token.

        `api_key` is the API key sent in `x-api-key` to
        the requests that require one: a string, or a function (sync or
        async) returning one, called before every such call.
        """
        self._token = token
        self._api_key = api_key
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

    async def _credential(self, scheme: str) -> dict[str, str]:
        """The header carrying the credential `scheme` names; none when the client has none."""
        if scheme == "bearer" and self._token is not None:
            return {"authorization": "Bearer " + await _credential_text(self._token)}
        if scheme == "api_key" and self._api_key is not None:
            return {"x-api-key": await _credential_text(self._api_key)}
        return {}

    async def charge(
        self,
        charge: NewCharge,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Charge:
        """`POST /charges`: Charge a customer; needs a token granting `payments:write`.

        Raises `PaymentErrorException` with the typed error:

        - `NotFound` (404): No charge has this id.
        - `ZeroAmount` (422): The amount is zero.
        - `AlreadyRefunded` (409): The charge was refunded already.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="charge",
                method="POST",
                path="/charges",
                query=None,
                headers={
                    **_runtime.headers(),
                    **await self._credential("bearer"),
                },
                body=_ADAPTER_2.dump_json(charge),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_PAYMENT_ERROR_EXCEPTION)

    async def get_charge(
        self,
        id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)],
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Charge:
        """`GET /charges/{id}`: One charge; any valid token.

        Raises `PaymentErrorException` with the typed error:

        - `NotFound` (404): No charge has this id.
        - `ZeroAmount` (422): The amount is zero.
        - `AlreadyRefunded` (409): The charge was refunded already.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="get_charge",
                method="GET",
                path="/charges/" + _runtime.encode_path_segment(id),
                query=None,
                headers={
                    **_runtime.headers(),
                    **await self._credential("bearer"),
                },
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_PAYMENT_ERROR_EXCEPTION)

    async def refund(
        self,
        id: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)],
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Charge:
        """`POST /charges/{id}/refund`: Refund a charge; needs `payments:write` and `payments:refund`.

        Raises `PaymentErrorException` with the typed error:

        - `NotFound` (404): No charge has this id.
        - `ZeroAmount` (422): The amount is zero.
        - `AlreadyRefunded` (409): The charge was refunded already.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="refund",
                method="POST",
                path="/charges/" + _runtime.encode_path_segment(id) + "/refund",
                query=None,
                headers={
                    **_runtime.headers(),
                    **await self._credential("bearer"),
                },
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_PAYMENT_ERROR_EXCEPTION)

    async def totals(
        self,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Totals:
        """`GET /totals`: The totals, for the back office: an API key granting `reports`."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="totals",
                method="GET",
                path="/totals",
                query=None,
                headers={
                    **_runtime.headers(),
                    **await self._credential("api_key"),
                },
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_4, None)

    async def health(
        self,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Health:
        """`GET /health`: Whether the service is up; public."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="health",
                method="GET",
                path="/health",
                query=None,
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_5, None)


# ---- Events ------------------------------------------------------------------


class Topics:
    """The topic each event is published on."""

    CHARGED: _t.Final = "payments.charged"
    """Published once a charge is made."""


PaymentsEvents = _t.TypedDict(
    "PaymentsEvents",
    {
        "payments.charged": Charged,
    },
)
"""The payload type of each event, by topic."""

EVENT_PAYLOADS: _t.Final[_Mapping[str, _p.TypeAdapter[_t.Any]]] = {
    "payments.charged": _ADAPTER_6,
}
"""How to decode the payload of each event, by topic: `EVENT_PAYLOADS[topic].validate_json(body)`."""
