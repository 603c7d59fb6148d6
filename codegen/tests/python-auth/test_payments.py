"""The generated payments client against the example payments server, which
requires bearer tokens (with scopes) and an API key.

`payments_client` must be importable, and `ACCORD_PAYMENTS_URL`,
`ACCORD_PAYMENTS_TOKEN` (granting every scope), `ACCORD_PAYMENTS_READ_TOKEN`
(granting none) and `ACCORD_PAYMENTS_API_KEY` must describe a running server;
codegen/tests/accord/python.rs sets them.
"""

from __future__ import annotations

import os

import pytest
from payments_client import NewCharge, PaymentsClient, ProblemError

CALL_TIMEOUT = 10.0


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start the payments server and describe it")
    return value


async def test_a_public_request_needs_no_credential() -> None:
    async with PaymentsClient(env("ACCORD_PAYMENTS_URL"), timeout=CALL_TIMEOUT) as client:
        assert (await client.health()).ok


async def test_without_a_token_the_call_is_refused_with_401() -> None:
    async with PaymentsClient(env("ACCORD_PAYMENTS_URL"), timeout=CALL_TIMEOUT) as client:
        with pytest.raises(ProblemError) as refused:
            await client.charge(NewCharge(customer="c-1", amount_cents=100))
    assert refused.value.status == 401
    assert refused.value.problem.type == "urn:accord:problem:unauthenticated"


async def test_a_token_string_reaches_the_handler() -> None:
    token = env("ACCORD_PAYMENTS_TOKEN")
    async with PaymentsClient(env("ACCORD_PAYMENTS_URL"), timeout=CALL_TIMEOUT, token=token) as client:
        charge = await client.charge(NewCharge(customer="c-1", amount_cents=700))
    assert charge.charged_by == "dev"
    assert charge.amount_cents == 700


async def test_sync_and_async_token_functions_are_asked_per_call() -> None:
    token = env("ACCORD_PAYMENTS_TOKEN")
    asked: list[str] = []

    def sync_token() -> str:
        asked.append("sync")
        return token

    async def async_token() -> str:
        asked.append("async")
        return token

    url = env("ACCORD_PAYMENTS_URL")
    async with PaymentsClient(url, timeout=CALL_TIMEOUT, token=sync_token) as client:
        made = await client.charge(NewCharge(customer="c-2", amount_cents=300))
        await client.get_charge(made.id)
    async with PaymentsClient(url, timeout=CALL_TIMEOUT, token=async_token) as client:
        assert (await client.get_charge(made.id)).customer == "c-2"
        await client.health()
    assert asked == ["sync", "sync", "async"]


async def test_a_token_without_the_scope_is_refused_with_403_naming_it() -> None:
    url = env("ACCORD_PAYMENTS_URL")
    token = env("ACCORD_PAYMENTS_READ_TOKEN")
    async with PaymentsClient(url, timeout=CALL_TIMEOUT, token=token) as client:
        with pytest.raises(ProblemError) as refused:
            await client.charge(NewCharge(customer="c-1", amount_cents=100))
    assert refused.value.status == 403
    assert refused.value.problem.type == "urn:accord:problem:forbidden"
    assert "payments:write" in (refused.value.problem.detail or "")


async def test_the_api_key_goes_to_the_request_that_takes_it() -> None:
    url = env("ACCORD_PAYMENTS_URL")
    async with PaymentsClient(url, timeout=CALL_TIMEOUT, api_key=env("ACCORD_PAYMENTS_API_KEY")) as client:
        totals = await client.totals()
    assert totals.charges >= 0
    async with PaymentsClient(url, timeout=CALL_TIMEOUT, api_key="wrong") as client:
        with pytest.raises(ProblemError) as refused:
            await client.totals()
    assert refused.value.status == 401
