"""What the generated Python client puts on the wire, recorded by a small
HTTP server on a loopback socket: path encoding, query, headers and the
trace context."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any, ClassVar, cast

import pytest
from orders_client import OrderFilter, OrdersClient, ProtocolError
from orders_client._runtime import encode_path_segment, encode_query

# Every call is bounded, so a hang fails fast and names itself.
CALL_TIMEOUT = 10.0


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _answer(self) -> None:
        Recorder.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.startswith("/orders?") or self.path == "/orders":
            body = b"[]"
            self.send_response(200)
            self.send_header("content-type", "application/json")
        elif self.path == "/stats":
            body = b"not json"
            self.send_response(503)
            self.send_header("content-type", "text/plain")
        else:
            body = b""
            self.send_response(204)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=CALL_TIMEOUT)


def test_path_segments_are_encoded_as_the_rust_client_encodes_them() -> None:
    assert encode_path_segment("a b/c?d#e%f~g!$&'()*+,;=:@ü") == "a%20b%2Fc%3Fd%23e%25f~g!$&'()*+,;=:@%C3%BC"
    assert encode_path_segment(42) == "42"
    assert encode_path_segment(True) == "true"
    assert encode_path_segment(".") == "%2E"
    assert encode_path_segment("..") == "%2E%2E"
    assert encode_path_segment("...") == "..."
    with pytest.raises(ValueError):
        encode_path_segment("")


def test_queries_are_form_encoded_fields() -> None:
    assert (
        encode_query({"status": "placed", "limit": 5, "gone": None, "tags": ["a b", "c&d"], "on": True})
        == "status=placed&limit=5&tags=a+b&tags=c%26d&on=true"
    )
    assert encode_query({}) is None
    with pytest.raises(TypeError):
        encode_query({"nested": {"no": 1}})


async def test_every_call_carries_its_path_query_headers_and_a_traceparent(recorder: str) -> None:
    async with OrdersClient(recorder, timeout=CALL_TIMEOUT, headers={"authorization": "Bearer t"}) as client:
        await client.cancel_order(cast(Any, "a b/.."), "key-1", headers={"x-call": "1"})
        await client.list_orders(OrderFilter(customer_id="a b&c", limit=5))
        await client.cancel_order(cast(Any, ".."))
        with pytest.raises(ProtocolError):
            await client.stats()

    (method, path, headers), (_, query_path, _), (_, dots, dot_headers), _ = Recorder.requests
    assert (method, path) == ("DELETE", "/orders/a%20b%2F..")
    assert headers["idempotency-key"] == "key-1"
    assert headers["authorization"] == "Bearer t"
    assert headers["x-call"] == "1"
    assert query_path == "/orders?customer_id=a+b%26c&limit=5"
    assert dots == "/orders/%2E%2E"
    assert "idempotency-key" not in dot_headers, "a header left out is not sent"
    traces = {h["traceparent"] for _, _, h in Recorder.requests}
    assert len(traces) == 4, "each call starts its own trace"
    for trace in traces:
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", trace), trace


async def test_a_caller_s_traceparent_is_kept(recorder: str) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with OrdersClient(recorder, timeout=CALL_TIMEOUT) as client:
        await client.cancel_order(1, headers={"traceparent": parent})
    assert Recorder.requests[0][2]["traceparent"] == parent
