"""The generated Python client against the running example orders server."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from orders_client import (
    EVENT_PAYLOADS,
    Address,
    DeliveryPickup,
    DeliveryShip,
    DiscountPercent,
    DiscountVoucher,
    DiscountVoucherVoucher,
    GiftNoteVariant2,
    Line,
    NewOrder,
    OrderErrorException,
    OrderErrorInvalidTransition,
    OrderErrorNotFound,
    OrderErrorOutOfStock,
    OrderFilter,
    OrderPlaced,
    OrdersClient,
    PaymentCard,
    PaymentCardDetails,
    PaymentCredit,
    PaymentInvoice,
    PaymentInvoiceDetails,
    ProblemError,
    StatusChange,
    Topics,
)


def new_order(sku: str, quantity: int, customer: str = "c-1") -> NewOrder:
    return NewOrder(
        customer_id=customer,
        lines=[Line(sku=sku, quantity=quantity)],
        delivery=DeliveryShip(
            address=Address(street="1 Main St", city="Springfield", country="US"),
            express=False,
        ),
        payment=PaymentCard(details=PaymentCardDetails(last4="4242")),
        labels={"campaign": "spring & summer"},
    )


async def test_a_placed_order_comes_back_typed(client: OrdersClient) -> None:
    customer = f"c-{uuid.uuid4()}"
    order = await client.place_order(new_order("apple", 3, customer))
    assert order.status == "placed"
    assert order.total_cents == 150
    assert order.labels == {"campaign": "spring & summer"}
    assert isinstance(order.delivery, DeliveryShip), "the tagged union decodes to its variant"
    assert isinstance(order.payment, PaymentCard)

    fetched = await client.get_order(order.id)
    assert fetched == order

    mine = await client.list_orders(OrderFilter(customer_id=customer, status="placed", limit=5))
    assert [o.id for o in mine] == [order.id]
    assert await client.list_orders(OrderFilter(customer_id=f"nobody {uuid.uuid4()}")) == []

    shipped = await client.set_status(order.id, StatusChange(status="shipped", reason="on its way"))
    assert shipped.status == "shipped"


async def test_every_enum_representation_round_trips(client: OrdersClient) -> None:
    # Internally tagged (delivery), adjacently tagged with and without
    # content (payment), externally tagged (discounts), untagged (gift note).
    order = await client.place_order(
        NewOrder(
            customer_id="c-2",
            lines=[Line(sku="apple", quantity=4)],
            delivery=DeliveryPickup(store="north"),
            payment=PaymentInvoice(details=PaymentInvoiceDetails(due_days=30)),
            discounts=[DiscountPercent(Percent=10), DiscountVoucher(Voucher=DiscountVoucherVoucher(code="V"))],
            gift_note=GiftNoteVariant2(to="Ann", message="Enjoy"),
        )
    )
    assert order.total_cents == 180, "10 percent off 200"
    assert order.delivery == DeliveryPickup(store="north")
    assert order.payment == PaymentInvoice(details=PaymentInvoiceDetails(due_days=30))
    assert order.discounts == [DiscountPercent(Percent=10), DiscountVoucher(Voucher=DiscountVoucherVoucher(code="V"))]
    assert order.gift_note == GiftNoteVariant2(to="Ann", message="Enjoy")
    assert order.labels == {}, "a map the server defaults comes back empty"

    plain = await client.place_order(
        NewOrder(
            customer_id="c-2",
            lines=[Line(sku="pear", quantity=1)],
            delivery=DeliveryPickup(store="south"),
            payment=PaymentCredit(),
            gift_note="Happy birthday",
        )
    )
    assert plain.payment == PaymentCredit()
    assert plain.gift_note == "Happy birthday"
    assert plain.discounts == [], "a field left out is not sent as null"


async def test_a_typed_error_is_raised_with_the_typed_error(client: OrdersClient) -> None:
    with pytest.raises(OrderErrorException) as missing:
        await client.get_order(999_999_999)
    assert missing.value.status == 404
    assert missing.value.error == OrderErrorNotFound(id=999_999_999)
    assert missing.value.problem.type == "urn:accord:problem:service-error"

    with pytest.raises(OrderErrorException) as out_of_stock:
        await client.place_order(new_order("melon", 10))
    assert out_of_stock.value.status == 409
    error = out_of_stock.value.error
    assert isinstance(error, OrderErrorOutOfStock)
    assert (error.sku, error.available) == ("melon", 3)


async def test_a_field_named_after_a_keyword_round_trips(client: OrdersClient) -> None:
    order = await client.place_order(new_order("pear", 1))
    await client.set_status(order.id, StatusChange(status="shipped"))
    with pytest.raises(OrderErrorException) as backwards:
        await client.set_status(order.id, StatusChange(status="placed"))
    assert backwards.value.error == OrderErrorInvalidTransition(from_="shipped", to="placed")


async def test_rejected_input_is_a_problem_naming_each_field(client: OrdersClient) -> None:
    order = new_order("apple", 1)
    # The client's own validation would refuse it: send it unchecked.
    order.lines = [Line.model_construct(sku="apple", quantity=-1)]
    with pytest.raises(ProblemError) as rejected:
        await client.place_order(order)
    assert rejected.value.status == 422
    assert [(e.location, e.field) for e in rejected.value.errors] == [("body", "lines[0].quantity")]


@pytest.mark.parametrize("segment", [".", ".."])
async def test_a_dot_segment_reaches_the_server_as_a_path_parameter(
    client: OrdersClient, segment: str
) -> None:
    # Sent as `.` or `..`, the path would be normalised to another route
    # (`/orders/` or `/`); encoded, the server reads it as the id and
    # refuses it as one.
    with pytest.raises(ProblemError) as rejected:
        await client.get_order(cast(Any, segment))
    assert rejected.value.status == 400
    assert [(e.location, e.field) for e in rejected.value.errors] == [("path", "id")]


async def test_a_cancellation_sends_its_header_and_has_no_content(client: OrdersClient) -> None:
    order = await client.place_order(new_order("pear", 2))
    key = f"key-{uuid.uuid4()}"
    await client.cancel_order(order.id, key)
    await client.cancel_order(order.id, key)  # the same key again has no further effect

    assert (await client.get_order(order.id)).status == "cancelled"


async def test_methods_without_a_typed_error(client: OrdersClient) -> None:
    stats = await client.stats()
    assert stats.total >= 0
    await client.health()


async def test_a_call_over_its_timeout_raises_timeout_error(client: OrdersClient) -> None:
    with pytest.raises(TimeoutError):
        await client.stats(timeout=1e-6)


async def test_event_topics_and_payloads(client: OrdersClient) -> None:
    assert Topics.ORDER_PLACED == "orders.placed"
    payload = EVENT_PAYLOADS[Topics.ORDER_PLACED].validate_json(
        b'{"order_id": 1, "customer_id": "c-1", "lines": [], "total_cents": 0}'
    )
    assert isinstance(payload, OrderPlaced)
