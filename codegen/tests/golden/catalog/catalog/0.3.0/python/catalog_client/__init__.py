"""A Python client of the `catalog` service, version 0.3.0.

Written by accord from `catalog_contract::Catalog`; do not edit, generate it again.

`CatalogClient` has one async method per request method, sending one HTTP call
with httpx. A method returns its value, or raises: the method's typed error
as a `ServiceError` subclass carrying it in `error`, any other problem
document (such as rejected input, whose `errors` name each field) as
`ProblemError`, a reply the contract does not describe as
`ProtocolError`, a call over its timeout as `TimeoutError`, and httpx's
own errors when the server cannot be reached.

Every schema is a pydantic model or a type alias. Fields keep their JSON
names on the wire and get a Python name in code where the JSON name is
none; a field that is not required is `None` when absent.

The products a shop sells, their categories and reviews.
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
    "CatalogClient",
    "CatalogError",
    "CatalogErrorException",
    "CatalogErrorSkuMismatch",
    "CatalogErrorUnknownProduct",
    "CatalogEvents",
    "Category",
    "Dimensions",
    "FieldError",
    "PageQuery",
    "Problem",
    "ProblemError",
    "Product",
    "ProductChanged",
    "ProductPage",
    "ProtocolError",
    "Review",
    "ReviewPage",
    "ServiceError",
    "Topics",
]

# ---- Models ------------------------------------------------------------------


class Category(_runtime.Model):
    """A category and the categories below it."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"children"})

    children: list[Category] | None = None
    name: str


class PageQuery(_runtime.Model):
    """Which page to list."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"after", "limit"})

    after: str | None = None
    """The `next` of the previous page."""
    limit: _t.Annotated[int, _p.Field(ge=0, le=65535)] | None = None
    """At most this many items (default 20)."""


class Product(_runtime.Model):
    """A product for sale."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"attributes", "dimensions"})

    attributes: dict[str, _t.Any] | None = None
    """Anything else the shop shows, as JSON."""
    category: list[str]
    """The category path, such as `["garden", "tools"]`."""
    dimensions: Dimensions | None = None
    """Width, height and depth in millimetres."""
    price_cents: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    """Price in cents."""
    sku: str
    """The stock-keeping unit."""
    title: str


class ProductChanged(_runtime.Model):
    """Published when a product is added or changed."""

    product: Product
    """The product as it is now."""
    sku: str


class ProductPage(_runtime.Model):
    """One page of a listing."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"next"})

    items: list[Product]
    next: str | None = None
    """Pass as `after` to get the next page; absent on the last page."""
    total: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    """How many items all pages hold."""


class Review(_runtime.Model):
    """A customer's review of a product."""

    author: str
    stars: _t.Annotated[int, _p.Field(ge=0, le=255)]
    """One to five stars."""
    text: str


class ReviewPage(_runtime.Model):
    """One page of a listing."""

    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({"next"})

    items: list[Review]
    next: str | None = None
    """Pass as `after` to get the next page; absent on the last page."""
    total: _t.Annotated[int, _p.Field(ge=0, le=18446744073709551615)]
    """How many items all pages hold."""


class CatalogErrorUnknownProduct(_runtime.Model):
    """No product has this SKU."""

    code: _t.Literal["unknown_product"] = "unknown_product"
    sku: str


class CatalogErrorSkuMismatch(_runtime.Model):
    """The product's SKU does not match the path."""

    body: str
    code: _t.Literal["sku_mismatch"] = "sku_mismatch"
    path: str


# ---- Type aliases ------------------------------------------------------------

CatalogError: _t.TypeAlias = _t.Annotated[CatalogErrorUnknownProduct | CatalogErrorSkuMismatch, _p.Field(discriminator="code")]
"""What can go wrong in the catalog."""

Dimensions: _t.TypeAlias = tuple[float, float, float]
"""Width, height and depth, in millimetres."""

# ---- Errors ------------------------------------------------------------------


class CatalogErrorException(ServiceError[CatalogError]):
    """The typed error `CatalogError` as the server answered it; it is in `error`."""


Category.model_rebuild()
PageQuery.model_rebuild()
Product.model_rebuild()
ProductChanged.model_rebuild()
ProductPage.model_rebuild()
Review.model_rebuild()
ReviewPage.model_rebuild()
CatalogErrorUnknownProduct.model_rebuild()
CatalogErrorSkuMismatch.model_rebuild()

_ADAPTER_1: _p.TypeAdapter[PageQuery] = _p.TypeAdapter(PageQuery)
_ADAPTER_2: _p.TypeAdapter[ProductPage] = _p.TypeAdapter(ProductPage)
_ADAPTER_3: _p.TypeAdapter[CatalogError] = _p.TypeAdapter(CatalogError)
_ADAPTER_4: _p.TypeAdapter[ReviewPage] = _p.TypeAdapter(ReviewPage)
_ADAPTER_5: _p.TypeAdapter[Product] = _p.TypeAdapter(Product)
_ADAPTER_6: _p.TypeAdapter[list[Category]] = _p.TypeAdapter(list[Category])
_ADAPTER_7: _p.TypeAdapter[ProductChanged] = _p.TypeAdapter(ProductChanged)
_ERROR_CATALOG_ERROR_EXCEPTION: _runtime.TypedError[CatalogError] = _runtime.TypedError(_ADAPTER_3, CatalogErrorException)

# ---- Client ------------------------------------------------------------------


class CatalogClient:
    """A client of the `catalog` service: one async method per request method.

    The products a shop sells, their categories and reviews.

    Use it as `async with CatalogClient(base_url) as client:`, or call `aclose()`
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

    async def list_products(
        self,
        page: PageQuery | None = None,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> ProductPage:
        """`GET /products`: List products, a page at a time."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="list_products",
                method="GET",
                path="/products",
                query=_runtime.encode_query(None if page is None else _ADAPTER_1.dump_python(page, mode="json")),
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_2, None)

    async def list_reviews(
        self,
        sku: str,
        page: PageQuery | None = None,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> ReviewPage:
        """`GET /products/{sku}/reviews`: List the reviews of a product, a page at a time.

        Raises `CatalogErrorException` with the typed error:

        - `UnknownProduct` (404): No product has this SKU.
        - `SkuMismatch` (422): The product's SKU does not match the path.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="list_reviews",
                method="GET",
                path="/products/" + _runtime.encode_path_segment(sku) + "/reviews",
                query=_runtime.encode_query(None if page is None else _ADAPTER_1.dump_python(page, mode="json")),
                headers=_runtime.headers(),
                body=None,
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_4, _ERROR_CATALOG_ERROR_EXCEPTION)

    async def put_product(
        self,
        sku: str,
        product: Product,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> Product:
        """`PUT /products/{sku}`: Add or replace a product.

        Raises `CatalogErrorException` with the typed error:

        - `UnknownProduct` (404): No product has this SKU.
        - `SkuMismatch` (422): The product's SKU does not match the path.
        """
        reply = await self._connection.send(
            _runtime.Call(
                operation="put_product",
                method="PUT",
                path="/products/" + _runtime.encode_path_segment(sku),
                query=None,
                headers=_runtime.headers(),
                body=_ADAPTER_5.dump_json(product),
            ),
            timeout=timeout,
            headers=headers,
        )
        return reply.value(_ADAPTER_5, _ERROR_CATALOG_ERROR_EXCEPTION)

    async def categories(
        self,
        *,
        timeout: float | None = None,
        headers: _Mapping[str, str] | None = None,
    ) -> list[Category]:
        """`GET /categories`: The category tree."""
        reply = await self._connection.send(
            _runtime.Call(
                operation="categories",
                method="GET",
                path="/categories",
                query=None,
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

    PRODUCT_CHANGED: _t.Final = "catalog.product_changed"
    """Published when a product is added or changed."""


CatalogEvents = _t.TypedDict(
    "CatalogEvents",
    {
        "catalog.product_changed": ProductChanged,
    },
)
"""The payload type of each event, by topic."""

EVENT_PAYLOADS: _t.Final[_Mapping[str, _p.TypeAdapter[_t.Any]]] = {
    "catalog.product_changed": _ADAPTER_7,
}
"""How to decode the payload of each event, by topic: `EVENT_PAYLOADS[topic].validate_json(body)`."""
