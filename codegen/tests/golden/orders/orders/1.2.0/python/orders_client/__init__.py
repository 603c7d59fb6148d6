"""A Python client of the `orders` service, version 1.2.0.

Written by accord from `orders_contract::Orders`; do not edit, generate it again.

`OrdersClient` has one async method per request method, sending one HTTP call
with httpx. A method returns its value, or raises: the method's typed error
as a `ServiceError` subclass carrying it in `error`, any other problem
document (such as rejected input, whose `errors` name each field) as
`ProblemError`, a reply the contract does not describe as
`ProtocolError`, a call over its timeout as `TimeoutError`, and httpx's
own errors when the server cannot be reached.

Every schema is a pydantic model or a type alias. Fields keep their JSON
names on the wire and get a Python name in code where the JSON name is
none; a field that is not required is `None` when absent.

Places and tracks customer orders.
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
    "Address",
    "CustomerId",
    "Delivery",
    "DeliveryPickup",
    "DeliveryShip",
    "Discount",
    "DiscountPercent",
    "DiscountVoucher",
    "DiscountVoucherVoucher",
    "FieldError",
    "GiftNote",
    "GiftNoteVariant2",
    "Line",
    "NewOrder",
    "Order",
    "OrderCancelled",
    "OrderError",
    "OrderErrorException",
    "OrderErrorInvalidTransition",
    "OrderErrorNotFound",
    "OrderErrorOutOfStock",
    "OrderErrorRejected",
    "OrderFilter",
    "OrderId",
    "OrderPlaced",
    "OrderStats",
    "OrderStatus",
    "OrdersClient",
    "OrdersEvents",
    "Payment",
    "PaymentCard",
    "PaymentCardDetails",
    "PaymentCredit",
    "PaymentInvoice",
    "PaymentInvoiceDetails",
    "Problem",
    "ProblemError",
    "ProtocolError",
    "ServiceError",
    "StatusChange",
    "Topics",
]

# ---- Models ------------------------------------------------------------------


class Address(_runtime.Model):
    """A postal address."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"postal_code"})

    city: str
    country: str
    """ISO 3166-1 alpha-2 country code."""
    postal_code: str | None = None
    """Postal code, where the country has them."""
    street: str


class Line(_runtime.Model):
    """How many of one product."""

    quantity: _t.Annotated[int, _p.Field(ge=0, le=4294967295)]
    """How many; at least one."""
    sku: str
    """The product's stock-keeping unit."""


class NewOrder(_runtime.Model):
    """What a customer submits to place an order."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"discounts", "gift_note", "labels"})

    customer_id: CustomerId
    delivery: Delivery
    discounts: list[Discount] | None = None
    gift_note: GiftNote | None = None
    labels: dict[str, str] | None = None
    """Free-form labels, such as a campaign name."""
    lines: list[Line]
    """The products ordered; not empty."""
    payment: Payment


class Order(_runtime.Model):
    """An order as the service keeps it."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"discounts", "gift_note", "labels"})

    customer_id: CustomerId
    delivery: Delivery
    discounts: list[Discount] | None = None
    gift_note: GiftNote | None = None
    id: OrderId
    labels: dict[str, str] | None = None
    """Free-form labels, such as a campaign name."""
    lines: list[Line]
    """The products ordered; not empty."""
    payment: Payment
    status: OrderStatus
    total_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    """Total in cents."""


class OrderCancelled(_runtime.Model):
    """Published when an order is cancelled."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"reason"})

    order_id: OrderId
    reason: str | None = None


class OrderFilter(_runtime.Model):
    """Which orders to list."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"customer_id", "limit", "status"})

    customer_id: str | None = None
    """Only orders of this customer."""
    limit: _t.Annotated[int, _p.Field(ge=0, le=4294967295)] | None = None
    """At most this many orders (default 50)."""
    status: OrderStatus | None = None
    """Only orders in this status."""


class OrderPlaced(_runtime.Model):
    """Published once an order is accepted."""

    customer_id: CustomerId
    lines: list[Line]
    order_id: OrderId
    total_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


class OrderStats(_runtime.Model):
    """Counts of orders per status."""

    by_status: dict[str, _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]]
    total: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]


class StatusChange(_runtime.Model):
    """A change of an order's status."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"reason"})

    reason: str | None = None
    """Why, for the customer's records."""
    status: OrderStatus


class DeliveryShip(_runtime.Model):
    """Shipped to an address."""

    address: Address
    express: bool
    method: _t.Literal["ship"] = "ship"


class DeliveryPickup(_runtime.Model):
    """Collected from a store."""

    method: _t.Literal["pickup"] = "pickup"
    store: str


class DiscountPercent(_runtime.Model):
    """Percent off the total."""

    Percent: _t.Annotated[int, _p.Field(ge=0, le=255)]


class DiscountVoucher(_runtime.Model):
    """A voucher code."""

    Voucher: DiscountVoucherVoucher


class DiscountVoucherVoucher(_runtime.Model):
    code: str


class GiftNoteVariant2(_runtime.Model):
    message: str
    to: str


class OrderErrorNotFound(_runtime.Model):
    """No order has this id."""

    code: _t.Literal["not_found"] = "not_found"
    id: OrderId


class OrderErrorOutOfStock(_runtime.Model):
    """A product is not in stock."""

    available: _t.Annotated[int, _p.Field(ge=0, le=4294967295)]
    code: _t.Literal["out_of_stock"] = "out_of_stock"
    sku: str


class OrderErrorInvalidTransition(_runtime.Model):
    """The order cannot move to the requested status."""

    code: _t.Literal["invalid_transition"] = "invalid_transition"
    from_: OrderStatus = _p.Field(validation_alias="from", serialization_alias="from")
    to: OrderStatus


class OrderErrorRejected(_runtime.Model):
    """The order breaks a business rule."""

    code: _t.Literal["rejected"] = "rejected"
    reason: str


class PaymentCard(_runtime.Model):
    details: PaymentCardDetails
    type: _t.Literal["card"] = "card"


class PaymentCardDetails(_runtime.Model):
    last4: str


class PaymentInvoice(_runtime.Model):
    details: PaymentInvoiceDetails
    type: _t.Literal["invoice"] = "invoice"


class PaymentInvoiceDetails(_runtime.Model):
    due_days: _t.Annotated[int, _p.Field(ge=0, le=65535)]


class PaymentCredit(_runtime.Model):
    """Paid with store credit."""

    type: _t.Literal["credit"] = "credit"


# ---- Type aliases ------------------------------------------------------------

CustomerId: _t.TypeAlias = str
"""A customer's identifier."""

Delivery: _t.TypeAlias = _t.Annotated[DeliveryShip | DeliveryPickup, _p.Field(discriminator="method")]
"""How the order reaches the customer (internally tagged)."""

Discount: _t.TypeAlias = DiscountPercent | DiscountVoucher
"""A discount (externally tagged, serde's default)."""

GiftNote: _t.TypeAlias = str | GiftNoteVariant2
"""A gift note: plain text or a structured card (untagged)."""

OrderId: _t.TypeAlias = _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
"""An order's identifier."""

OrderStatus: _t.TypeAlias = _t.Literal["placed", "shipped", "cancelled"]
"""Where an order is in its life."""

OrderError: _t.TypeAlias = _t.Annotated[OrderErrorNotFound | OrderErrorOutOfStock | OrderErrorInvalidTransition | OrderErrorRejected, _p.Field(discriminator="code")]
"""What can go wrong with an order."""

Payment: _t.TypeAlias = _t.Annotated[PaymentCard | PaymentInvoice | PaymentCredit, _p.Field(discriminator="type")]
"""How the order is paid (adjacently tagged)."""

# ---- Errors ------------------------------------------------------------------


class OrderErrorException(ServiceError[OrderError]):
    """The typed error `OrderError` as the server answered it; it is in `error`."""


Address.model_rebuild()
Line.model_rebuild()
NewOrder.model_rebuild()
Order.model_rebuild()
OrderCancelled.model_rebuild()
OrderFilter.model_rebuild()
OrderPlaced.model_rebuild()
OrderStats.model_rebuild()
StatusChange.model_rebuild()
DeliveryShip.model_rebuild()
DeliveryPickup.model_rebuild()
DiscountPercent.model_rebuild()
DiscountVoucher.model_rebuild()
DiscountVoucherVoucher.model_rebuild()
GiftNoteVariant2.model_rebuild()
OrderErrorNotFound.model_rebuild()
OrderErrorOutOfStock.model_rebuild()
OrderErrorInvalidTransition.model_rebuild()
OrderErrorRejected.model_rebuild()
PaymentCard.model_rebuild()
PaymentCardDetails.model_rebuild()
PaymentInvoice.model_rebuild()
PaymentInvoiceDetails.model_rebuild()
PaymentCredit.model_rebuild()

_ADAPTER_1: _p.TypeAdapter[OrderError] = _p.TypeAdapter(OrderError)
_ADAPTER_2: _p.TypeAdapter[NewOrder] = _p.TypeAdapter(NewOrder)
_ADAPTER_3: _p.TypeAdapter[Order] = _p.TypeAdapter(Order)
_ADAPTER_4: _p.TypeAdapter[OrderFilter] = _p.TypeAdapter(OrderFilter)
_ADAPTER_5: _p.TypeAdapter[list[Order]] = _p.TypeAdapter(list[Order])
_ADAPTER_6: _p.TypeAdapter[StatusChange] = _p.TypeAdapter(StatusChange)
_ADAPTER_7: _p.TypeAdapter[OrderStats] = _p.TypeAdapter(OrderStats)
_ADAPTER_8: _p.TypeAdapter[OrderPlaced] = _p.TypeAdapter(OrderPlaced)
_ADAPTER_9: _p.TypeAdapter[OrderCancelled] = _p.TypeAdapter(OrderCancelled)
_ERROR_ORDER_ERROR_EXCEPTION: _runtime.TypedError[OrderError] = _runtime.TypedError(_ADAPTER_1, OrderErrorException)

# ---- Client ------------------------------------------------------------------


class OrdersClient:
    """A client of the `orders` service: one async method per request method.

    Places and tracks customer orders.

    Use it as `async with OrdersClient(base_url) as client:`, or call `aclose()`
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

    async def place_order(
        self,
        order: NewOrder,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Order:
        """`POST /orders`: Place a new order.

        Raises `OrderErrorException` with the typed error:

        - `NotFound` (404): No order has this id.
        - `OutOfStock` (409): A product is not in stock.
        - `InvalidTransition` (409): The order cannot move to the requested status.
        - `Rejected` (422): The order breaks a business rule.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="place_order",
                method="POST",
                path="/orders",
                query=None,
                headers=_runtime.headers(),
                body=_ADAPTER_2.dump_json(order),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_ORDER_ERROR_EXCEPTION)

    async def get_order(
        self,
        id: OrderId,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Order:
        """`GET /orders/{id}`: Fetch one order.

        Raises `OrderErrorException` with the typed error:

        - `NotFound` (404): No order has this id.
        - `OutOfStock` (409): A product is not in stock.
        - `InvalidTransition` (409): The order cannot move to the requested status.
        - `Rejected` (422): The order breaks a business rule.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="get_order",
                method="GET",
                path="/orders/" + _runtime.encode_path_segment(id),
                query=None,
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_ORDER_ERROR_EXCEPTION)

    async def list_orders(
        self,
        filter: OrderFilter | None = None,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> list[Order]:
        """`GET /orders`: List orders, newest first.

        Raises `OrderErrorException` with the typed error:

        - `NotFound` (404): No order has this id.
        - `OutOfStock` (409): A product is not in stock.
        - `InvalidTransition` (409): The order cannot move to the requested status.
        - `Rejected` (422): The order breaks a business rule.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="list_orders",
                method="GET",
                path="/orders",
                query=_runtime.encode_query(None if filter is None else _ADAPTER_4.dump_python(filter, mode="json")),
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_5, _ERROR_ORDER_ERROR_EXCEPTION)

    async def set_status(
        self,
        id: OrderId,
        change: StatusChange,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Order:
        """`PUT /orders/{id}/status`: Change an order's status.

        Raises `OrderErrorException` with the typed error:

        - `NotFound` (404): No order has this id.
        - `OutOfStock` (409): A product is not in stock.
        - `InvalidTransition` (409): The order cannot move to the requested status.
        - `Rejected` (422): The order breaks a business rule.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="set_status",
                method="PUT",
                path="/orders/" + _runtime.encode_path_segment(id) + "/status",
                query=None,
                headers=_runtime.headers(),
                body=_ADAPTER_6.dump_json(change),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_3, _ERROR_ORDER_ERROR_EXCEPTION)

    async def cancel_order(
        self,
        id: OrderId,
        key: str | None = None,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> None:
        """`DELETE /orders/{id}`: Cancel an order. Repeating a cancellation with the same idempotency key has no further effect.

        Raises `OrderErrorException` with the typed error:

        - `NotFound` (404): No order has this id.
        - `OutOfStock` (409): A product is not in stock.
        - `InvalidTransition` (409): The order cannot move to the requested status.
        - `Rejected` (422): The order breaks a business rule.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="cancel_order",
                method="DELETE",
                path="/orders/" + _runtime.encode_path_segment(id),
                query=None,
                headers=_runtime.headers(("idempotency-key", key)),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        reply.check(_ERROR_ORDER_ERROR_EXCEPTION)

    async def stats(
        self,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> OrderStats:
        """`GET /stats`: Counts of orders per status."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="stats",
                method="GET",
                path="/stats",
                query=None,
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_7, None)

    async def health(
        self,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> None:
        """`GET /health`: Check that the service is up."""
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
        reply.check(None)


# ---- Events ------------------------------------------------------------------


class Topics:
    """The topic each event is published on."""

    ORDER_PLACED: _t.Final = "orders.placed"
    """Published once an order is accepted."""

    ORDER_CANCELLED: _t.Final = "orders.cancelled"
    """Published when an order is cancelled."""


OrdersEvents = _t.TypedDict(
    "OrdersEvents",
    {
        "orders.placed": OrderPlaced,
        "orders.cancelled": OrderCancelled,
    },
)
"""The payload type of each event, by topic."""

EVENT_PAYLOADS: _t.Final[_Mapping[str, _p.TypeAdapter[_t.Any]]] = {
    "orders.placed": _ADAPTER_8,
    "orders.cancelled": _ADAPTER_9,
}
"""How to decode the payload of each event, by topic: `EVENT_PAYLOADS[topic].validate_json(body)`."""
