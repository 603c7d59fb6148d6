"""Fixtures of the Python client tests.

The generated `orders_client` package must be importable (installed with
pip, or on PYTHONPATH), and `ACCORD_ORDERS_URL` must name a running example
orders server (`cargo run -p orders-server -- 127.0.0.1:PORT`).
scripts/validate-generated.sh and codegen/tests/accord/python.rs set both.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from orders_client import OrdersClient

# Every call of these tests is bounded, so a hang fails fast and names itself.
CALL_TIMEOUT = 10.0


@pytest.fixture
def base_url() -> str:
    url = os.environ.get("ACCORD_ORDERS_URL")
    if not url:
        pytest.fail("ACCORD_ORDERS_URL is not set: start the orders server and point it there")
    return url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[OrdersClient]:
    async with OrdersClient(base_url, timeout=CALL_TIMEOUT) as client:
        yield client
