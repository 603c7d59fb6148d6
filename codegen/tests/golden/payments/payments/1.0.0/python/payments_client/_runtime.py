"""Calls, problem documents and errors of the `payments` client.

Written by accord from `payments_contract::Payments`; do not edit, generate it again.

It follows the wire conventions of accord's Rust and TypeScript clients:
path parameters percent-encoded as one segment (`/` included, and `.` and
`..` as `%2E` and `%2E%2E`, so no proxy reads them as dot segments), query
structs as form-encoded fields, headers, JSON bodies, RFC 9457 problem
documents (`application/problem+json`) with the typed error in `error`, and a
W3C `traceparent` on every call.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import anyio
import httpx
import pydantic

DEFAULT_TIMEOUT: float = 30.0
"""How long a call may take, in seconds, unless the client or the call says otherwise."""

DEFAULT_REPLY_LIMIT: int = 32 * 1024 * 1024
"""The largest reply body a client reads, in bytes (32 MiB); a larger one is a `ProtocolError`."""

SERVICE_ERROR: str = "urn:accord:problem:service-error"
"""The `type` of a problem document that carries a typed service error in `error`."""

INVALID_REQUEST: str = "urn:accord:problem:invalid-request"
"""The `type` of a problem document about input the server could not decode."""

_BODY_EXCERPT = 512

T = TypeVar("T")
E = TypeVar("E")


class Model(pydantic.BaseModel):
    """The base of every model: JSON names on the wire, Python names in code.

    A field that is not required and is `None` is left out of the JSON, as
    the Rust side leaves out a field it skips.
    """

    model_config = pydantic.ConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    _accord_optional: ClassVar[frozenset[str]] = frozenset()

    @pydantic.model_serializer(mode="wrap")
    def _leave_out_absent(
        self,
        handler: pydantic.SerializerFunctionWrapHandler,
        info: pydantic.SerializationInfo,
    ) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            fields = type(self).model_fields
            for name in self._accord_optional:
                if getattr(self, name, None) is None:
                    alias = fields[name].serialization_alias
                    data.pop(alias if alias and info.by_alias is not False else name, None)
        return data


class FieldError(Model):
    """One rejected part of a request, as a problem document lists it."""

    location: Literal["path", "query", "header", "body"]
    """Where the value was."""
    field: str
    """The field, such as `lines[0].quantity`; empty for the whole body."""
    reason: str
    """Why it was rejected."""


class Problem(Model):
    """An RFC 9457 problem document: how the server reports every failure."""

    model_config = pydantic.ConfigDict(extra="allow")

    type: str = "about:blank"
    """A URI naming the kind of problem."""
    title: str = ""
    status: int = 0
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    """Each rejected part of the request, for input the server could not decode."""
    error: Any = None
    """The typed service error, when `type` is `SERVICE_ERROR`."""


class ServiceError(Exception, Generic[E]):
    """A typed service error: the error the method declares, as the server answered it."""

    def __init__(self, operation: str, status: int, error: E, problem: Problem) -> None:
        detail = f": {problem.detail}" if problem.detail else ""
        super().__init__(f"{operation}: {problem.title} ({status}){detail}")
        self.operation = operation
        """The method called."""
        self.status = status
        """The HTTP status."""
        self.error: E = error
        """The typed error: the problem document's `error` member."""
        self.problem = problem
        """The whole problem document."""


class ProblemError(Exception):
    """A problem document that is not a typed error of the method called: bad input, a server fault."""

    def __init__(self, operation: str, status: int, problem: Problem) -> None:
        detail = f": {problem.detail}" if problem.detail else ""
        super().__init__(f"{operation}: {problem.title} ({status}){detail}")
        self.operation = operation
        """The method called."""
        self.status = status
        """The HTTP status."""
        self.problem = problem
        """The problem document."""

    @property
    def errors(self) -> list[FieldError]:
        """Each rejected field of bad input; empty for other problems."""
        return list(self.problem.errors or [])


class ProtocolError(Exception):
    """A reply that is not what the contract says: no problem document, an undecodable or too large body."""

    def __init__(self, operation: str, status: int | None, reason: str, body: bytes) -> None:
        shown = f" (status {status})" if status is not None else ""
        super().__init__(f"{operation}: {reason}{shown}")
        self.operation = operation
        """The method called."""
        self.status = status
        """The HTTP status, when a reply came."""
        self.reason = reason
        """What was wrong."""
        self.body = body[:_BODY_EXCERPT].decode("utf-8", errors="replace")
        """The start of the reply body."""


@dataclass(frozen=True)
class TypedError(Generic[E]):
    """How a method's typed error is decoded and raised."""

    adapter: pydantic.TypeAdapter[E]
    exception: type[ServiceError[E]]


@dataclass(frozen=True)
class Call:
    """One call, ready to send."""

    operation: str
    method: str
    path: str
    query: str | None
    headers: Mapping[str, str]
    body: bytes | None


@dataclass(frozen=True)
class Reply:
    """The reply to a call."""

    operation: str
    status: int
    content_type: str
    body: bytes

    def value(self, adapter: pydantic.TypeAdapter[T], error: TypedError[Any] | None) -> T:
        """The success value, or the failure raised."""
        self.check(error)
        try:
            return adapter.validate_json(self.body or b"null")
        except pydantic.ValidationError as e:
            raise ProtocolError(self.operation, self.status, f"undecodable reply body: {e}", self.body) from e

    def check(self, error: TypedError[Any] | None) -> None:
        """Returns for a success; raises the typed error, a `ProblemError` or a `ProtocolError`."""
        if 200 <= self.status < 300:
            return
        if not _is_json(self.content_type):
            raise ProtocolError(
                self.operation, self.status, "unexpected status without a problem document", self.body
            )
        try:
            problem = Problem.model_validate_json(self.body)
        except pydantic.ValidationError as e:
            raise ProtocolError(self.operation, self.status, f"undecodable problem document: {e}", self.body) from e
        if error is not None and problem.type == SERVICE_ERROR and problem.error is not None:
            try:
                typed = error.adapter.validate_python(problem.error)
            except pydantic.ValidationError:
                # A variant this client does not know: still a problem document.
                pass
            else:
                raise error.exception(self.operation, self.status, typed, problem)
        raise ProblemError(self.operation, self.status, problem)


class Connection:
    """Where calls go and how they are sent: one pooled `httpx.AsyncClient`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        reply_limit: int = DEFAULT_REPLY_LIMIT,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"invalid base URL {base_url!r}: expected a URL such as http://127.0.0.1:8080")
        if parsed.query or parsed.fragment:
            raise ValueError(f"invalid base URL {base_url!r}: a base URL cannot have a query string")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"the timeout must be positive, not {timeout}")
        if reply_limit <= 0:
            raise ValueError(f"the reply limit must be positive, not {reply_limit}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.reply_limit = reply_limit
        self._own_client = http_client is None
        # The call's deadline bounds the whole call; httpx's own timeouts are off.
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=None)

    async def aclose(self) -> None:
        """Closes the HTTP client, unless it was given."""
        if self._own_client:
            await self._http.aclose()

    async def send(self, call: Call, *, timeout: float | None, headers: Mapping[str, str] | None) -> Reply:
        """Sends `call` within `timeout` seconds (the connection's when `None`); raises `TimeoutError` after it."""
        limit = timeout if timeout is not None else self.timeout
        if limit is not None and limit <= 0:
            raise ValueError(f"the timeout must be positive, not {limit}")
        merged: dict[str, str] = {"accept": "application/json, application/problem+json"}
        for extra in (self.headers, headers or {}, call.headers):
            for name, value in extra.items():
                merged[name.lower()] = value
        if call.body is not None:
            merged["content-type"] = "application/json"
        merged.setdefault("traceparent", new_traceparent())
        url = self.base_url + call.path
        if call.query:
            url += "?" + call.query
        request = self._http.build_request(call.method, url, headers=merged, content=call.body)
        with anyio.fail_after(limit):
            response = await self._http.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.reply_limit:
                        raise ProtocolError(
                            call.operation,
                            response.status_code,
                            f"the reply is larger than {self.reply_limit} bytes",
                            bytes(body),
                        )
            finally:
                await response.aclose()
        return Reply(call.operation, response.status_code, response.headers.get("content-type", ""), bytes(body))


def new_traceparent() -> str:
    """A W3C `traceparent` starting a new trace: random trace and span ids, sampled."""
    trace_id = secrets.randbits(128) or 1
    span_id = secrets.randbits(64) or 1
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def _scalar_text(what: str, value: object) -> str | None:
    """A string, number or boolean as the Rust side writes it; `None` for `None`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise TypeError(f"{what} must be a string, number or boolean, not {type(value).__name__}")


def encode_path_segment(value: object) -> str:
    """Percent-encodes a path parameter as one segment, as accord's Rust client does.

    Everything but letters, digits and `-._~!$&'()*+,;=:@` is encoded, `/`
    included; a segment of only `.` or `..` is sent as `%2E` or `%2E%2E`, so
    that no client library or proxy removes it as a dot segment.
    """
    text = _scalar_text("a path parameter", value)
    if text is None or text == "":
        raise ValueError("a path parameter cannot be empty or None")
    if text in (".", ".."):
        return "%2E" * len(text)
    return urllib.parse.quote(text, safe="!$&'()*+,;=:@")


def encode_query(fields: object) -> str | None:
    """Form-encodes a query struct's JSON fields: one pair per field, repeated for lists; `None` left out."""
    if fields is None:
        return None
    if not isinstance(fields, Mapping):
        raise TypeError(f"a query must be an object of fields, not {type(fields).__name__}")
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            text = _scalar_text(f"query field `{key}`", item)
            if text is not None:
                pairs.append((str(key), text))
    return urllib.parse.urlencode(pairs) or None


def header_text(name: str, value: object) -> str | None:
    """A header's value; `None` leaves the header out."""
    text = _scalar_text(f"header `{name}`", value)
    if text is not None and (text[:1] in (" ", "\t") or text[-1:] in (" ", "\t")):
        raise ValueError(f"header `{name}` cannot begin or end with whitespace")
    if text is not None and any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in text):
        raise ValueError(f"header `{name}` cannot hold control characters such as line breaks")
    return text


def headers(*pairs: tuple[str, object]) -> dict[str, str]:
    """The headers of a call: each (name, value) pair whose value is not `None`."""
    found: dict[str, str] = {}
    for name, value in pairs:
        text = header_text(name, value)
        if text is not None:
            found[name] = text
    return found


def _is_json(content_type: str) -> bool:
    essence = content_type.split(";")[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))
