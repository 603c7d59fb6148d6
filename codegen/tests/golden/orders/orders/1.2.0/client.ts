// A TypeScript client of the `orders` service, version 1.2.0.
// Written by accord from `orders_contract::Orders`; do not edit, generate it again.
//
// Every request method is an async function sending one HTTP call with
// `fetch`, and a method of `OrdersClient`. A method with a typed error
// returns a `CallResult`: `{ ok: true, value }`, or `{ ok: false, error }`
// with the error the service answered; `unwrap` turns it into the value
// or a thrown `ServiceError`. Any other failure is thrown: a
// `ProblemError` for a problem document (such as rejected input), a
// `ProtocolError` for a reply the contract does not describe (such as
// a status other than the one it declares), and fetch's own error when the
// server cannot be reached. A path parameter `.` or `..` is refused with a
// TypeError: URLs drop such a segment, so the call would reach another route.
//
// Integers are JavaScript numbers: values beyond 2^53 lose precision.

// ---- Calls, problem documents and errors ----------------------------------

/** One rejected part of a request, as a problem document lists it. */
export interface FieldError {
  /** Where the value was. */
  location: "path" | "query" | "header" | "body";
  /** The field, such as `lines[0].quantity`; empty for the whole body. */
  field: string;
  /** Why it was rejected. */
  reason: string;
}

/** An RFC 9457 problem document: how the server reports every failure. */
export interface Problem {
  /** A URI naming the kind of problem. */
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Each rejected part of the request, for input the server could not decode. */
  errors?: FieldError[];
  /** The typed service error, when `type` is `urn:accord:problem:service-error`. */
  error?: unknown;
  [member: string]: unknown;
}

/** Where calls go and how they are sent. */
export interface Connection {
  /** The server's base URL, such as `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The `fetch` to send with; the global one unless given. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every call, such as `authorization`. */
  headers?: { [name: string]: string };
}

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call when signalled. */
  signal?: AbortSignal;
  /** Headers sent with this call only. */
  headers?: { [name: string]: string };
}

/**
 * The outcome of a call to a method with a typed error: its value, or the
 * service error the server answered with. Any other failure is thrown.
 */
export type CallResult<T, E> =
  | { ok: true; status: number; value: T }
  | { ok: false; status: number; error: E; problem: Problem };

/** A typed service error, thrown by `unwrap`. */
export class ServiceError<E> extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The typed error: the problem document's `error` member. */
  readonly error: E;
  /** The whole problem document. */
  readonly problem: Problem;

  constructor(status: number, error: E, problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = "ServiceError";
    this.status = status;
    this.error = error;
    this.problem = problem;
  }
}

/** A problem document that is not a typed error of the method called: bad input, a server fault. */
export class ProblemError extends Error {
  /** The method called. */
  readonly operation: string;
  /** The HTTP status. */
  readonly status: number;
  /** The problem document; `errors` names each rejected field of bad input. */
  readonly problem: Problem;

  constructor(operation: string, status: number, problem: Problem) {
    const detail = problem.detail ? `: ${problem.detail}` : "";
    super(`${operation}: ${problem.title} (${status})${detail}`);
    this.name = "ProblemError";
    this.operation = operation;
    this.status = status;
    this.problem = problem;
  }
}

/** A reply that is not what the contract says: no problem document, or a body that is not JSON. */
export class ProtocolError extends Error {
  /** The method called. */
  readonly operation: string;
  /** The HTTP status. */
  readonly status: number;
  /** The start of the reply body. */
  readonly body: string;

  constructor(operation: string, status: number, reason: string, body: string) {
    super(`${operation}: ${reason} (status ${status})`);
    this.name = "ProtocolError";
    this.operation = operation;
    this.status = status;
    this.body = body.slice(0, 512);
  }
}

/** The value of a call result, or its typed error thrown as a `ServiceError`. */
export function unwrap<T, E>(result: CallResult<T, E>): T {
  if (result.ok) {
    return result.value;
  }
  throw new ServiceError<E>(result.status, result.error, result.problem);
}

/** Characters a path segment keeps as they are; the rest is percent-encoded as UTF-8. */
const $SEGMENT_SAFE = /^[A-Za-z0-9!$&'()*+,\-.:;=@_~]$/;

/**
 * Percent-encodes a path parameter (a string, number or boolean) the way accord's Rust client does.
 * `.` and `..` are written `%2E` and `%2E%2E`, so a path normaliser that keeps percent-encoding
 * does not take them for dot segments.
 */
export function encodePathSegment(value: unknown): string {
  const text = $scalarText("a path parameter", value);
  if (text === undefined || text === "") {
    throw new TypeError("a path parameter cannot be empty or null");
  }
  if (text === "." || text === "..") {
    return text.replaceAll(".", "%2E");
  }
  let encoded = "";
  for (const char of text) {
    encoded += $SEGMENT_SAFE.test(char) ? char : encodeURIComponent(char);
  }
  return encoded;
}

/**
 * The path parameter `name` of `operation`, encoded for a URL `fetch` parses. `.` and `..` are
 * refused: the WHATWG URL parser behind `fetch` removes such a segment even when it is
 * percent-encoded, so the call would reach another route.
 */
function $pathParameter(operation: string, name: string, value: unknown): string {
  const text = $scalarText(`${operation}: path parameter \`${name}\``, value);
  if (text === undefined || text === "") {
    throw new TypeError(`${operation}: path parameter \`${name}\` cannot be empty or null`);
  }
  if (text === "." || text === "..") {
    throw new TypeError(
      `${operation}: path parameter \`${name}\` cannot be "${text}": URLs drop such a segment, even percent-encoded, so the call would reach another route`,
    );
  }
  return encodePathSegment(text);
}

/** Form-encodes a query object: one pair per field, repeated for arrays; null and undefined left out. */
export function encodeQuery(query: object | null | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) {
        continue;
      }
      if (typeof item === "object") {
        throw new TypeError(`query field \`${key}\` must be a string, number or boolean`);
      }
      params.append(key, String(item));
    }
  }
  return params.toString();
}

/** A string, number or boolean as text; `undefined` for null and undefined. */
function $scalarText(what: string, value: unknown): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === "object") {
    throw new TypeError(`${what} must be a string, number or boolean`);
  }
  return String(value);
}

function $headerText(name: string, value: unknown): string | undefined {
  const text = $scalarText(`header \`${name}\``, value);
  if (text !== undefined && /^[ \t]|[ \t]$/.test(text)) {
    throw new TypeError(`header \`${name}\` cannot begin or end with whitespace`);
  }
  return text;
}

function $isJson(contentType: string): boolean {
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}

interface $Call {
  operation: string;
  method: string;
  path: string;
  /** The status the contract declares for a successful reply. */
  status: number;
  /** The statuses the contract declares for the method's typed errors. */
  errorStatuses: number[];
  query: string | undefined;
  /** Each header argument by name; one that is null or undefined is left out. */
  headers: [name: string, value: unknown][];
  body: string | undefined;
  /** Whether the method has a typed error to return rather than throw. */
  typed: boolean;
}

async function $send<T, E>(
  connection: Connection,
  call: $Call,
  options: CallOptions | undefined,
): Promise<CallResult<T, E>> {
  const send = connection.fetch ?? globalThis.fetch;
  let url = connection.baseUrl.replace(/\/+$/, "") + call.path;
  if (call.query) {
    url += "?" + call.query;
  }
  const headers: { [name: string]: string } = {
    accept: "application/json, application/problem+json",
    ...connection.headers,
    ...options?.headers,
  };
  for (const [name, value] of call.headers) {
    const text = $headerText(name, value);
    if (text !== undefined) {
      headers[name] = text;
    }
  }
  const init: RequestInit = { method: call.method, headers };
  if (call.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = call.body;
  }
  if (options?.signal !== undefined) {
    init.signal = options.signal;
  }
  const reply = await send(url, init);
  const text = await reply.text();
  if (reply.status >= 200 && reply.status < 300) {
    if (reply.status !== call.status) {
      throw new ProtocolError(call.operation, reply.status, `the contract declares status ${call.status} for a successful reply`, text);
    }
    if (text === "") {
      return { ok: true, status: reply.status, value: undefined as T };
    }
    try {
      return { ok: true, status: reply.status, value: JSON.parse(text) as T };
    } catch (error) {
      throw new ProtocolError(call.operation, reply.status, `undecodable reply body: ${error}`, text);
    }
  }
  if (!$isJson(reply.headers.get("content-type") ?? "")) {
    throw new ProtocolError(call.operation, reply.status, "unexpected status without a problem document", text);
  }
  let problem: Problem;
  try {
    problem = JSON.parse(text) as Problem;
  } catch (error) {
    throw new ProtocolError(call.operation, reply.status, `undecodable problem document: ${error}`, text);
  }
  if (problem.status !== reply.status) {
    throw new ProtocolError(call.operation, reply.status, `the problem document says status ${problem.status}`, text);
  }
  if (call.typed && problem.type === "urn:accord:problem:service-error" && problem.error !== undefined) {
    // The Rust client checks the exact variant's status; here the error's
    // shape is not known at run time, so any status its type declares passes.
    if (!call.errorStatuses.includes(reply.status)) {
      throw new ProtocolError(call.operation, reply.status, "the contract declares no service error with this status", text);
    }
    return { ok: false, status: reply.status, error: problem.error as E, problem };
  }
  throw new ProblemError(call.operation, reply.status, problem);
}

// ---- Types -----------------------------------------------------------------

/** A postal address. */
export interface Address {
  city: string;
  /** ISO 3166-1 alpha-2 country code. */
  country: string;
  /** Postal code, where the country has them. */
  postal_code?: string | null;
  street: string;
}

/** A customer's identifier. */
export type CustomerId = string;

/** How the order reaches the customer (internally tagged). */
export type Delivery =
  /** Shipped to an address. */
  | { address: Address; express: boolean; method: "ship" }
  /** Collected from a store. */
  | { method: "pickup"; store: string };

/** A discount (externally tagged, serde's default). */
export type Discount =
  /** Percent off the total. */
  | { Percent: number }
  /** A voucher code. */
  | { Voucher: { code: string } };

/** A gift note: plain text or a structured card (untagged). */
export type GiftNote =
  | string
  | { message: string; to: string };

/** How many of one product. */
export interface Line {
  /** How many; at least one. */
  quantity: number;
  /** The product's stock-keeping unit. */
  sku: string;
}

/** What a customer submits to place an order. */
export interface NewOrder {
  customer_id: CustomerId;
  delivery: Delivery;
  discounts?: Discount[];
  gift_note?: GiftNote | null;
  /** Free-form labels, such as a campaign name. */
  labels?: { [key: string]: string };
  /** The products ordered; not empty. */
  lines: Line[];
  payment: Payment;
}

/** An order as the service keeps it. */
export interface Order {
  customer_id: CustomerId;
  delivery: Delivery;
  discounts?: Discount[];
  gift_note?: GiftNote | null;
  id: OrderId;
  /** Free-form labels, such as a campaign name. */
  labels?: { [key: string]: string };
  /** The products ordered; not empty. */
  lines: Line[];
  payment: Payment;
  status: OrderStatus;
  /** Total in cents. */
  total_cents: number;
}

/** Published when an order is cancelled. */
export interface OrderCancelled {
  order_id: OrderId;
  reason?: string | null;
}

/** What can go wrong with an order. */
export type OrderError =
  /** No order has this id. */
  | { code: "not_found"; id: OrderId }
  /** A product is not in stock. */
  | { available: number; code: "out_of_stock"; sku: string }
  /** The order cannot move to the requested status. */
  | { code: "invalid_transition"; from: OrderStatus; to: OrderStatus }
  /** The order breaks a business rule. */
  | { code: "rejected"; reason: string };

/** Which orders to list. */
export interface OrderFilter {
  /** Only orders of this customer. */
  customer_id?: string | null;
  /** At most this many orders (default 50). */
  limit?: number | null;
  /** Only orders in this status. */
  status?: OrderStatus | null;
}

/** An order's identifier. */
export type OrderId = number;

/** Published once an order is accepted. */
export interface OrderPlaced {
  customer_id: CustomerId;
  lines: Line[];
  order_id: OrderId;
  total_cents: number;
}

/** Counts of orders per status. */
export interface OrderStats {
  by_status: { [key: string]: number };
  total: number;
}

/** Where an order is in its life. */
export type OrderStatus =
  /** Accepted, not yet shipped. */
  | "placed"
  /** Handed to the carrier. */
  | "shipped"
  /** Cancelled before shipping. */
  | "cancelled";

/** How the order is paid (adjacently tagged). */
export type Payment =
  | { details: { last4: string }; type: "card" }
  | { details: { due_days: number }; type: "invoice" }
  /** Paid with store credit. */
  | { type: "credit" };

/** A change of an order's status. */
export interface StatusChange {
  /** Why, for the customer's records. */
  reason?: string | null;
  status: OrderStatus;
}

// ---- Requests --------------------------------------------------------------

/**
 * `POST /orders`: Place a new order.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No order has this id.
 * - `OutOfStock` (409): A product is not in stock.
 * - `InvalidTransition` (409): The order cannot move to the requested status.
 * - `Rejected` (422): The order breaks a business rule.
 */
export async function placeOrder(
  connection: Connection,
  order: NewOrder,
  options?: CallOptions,
): Promise<CallResult<Order, OrderError>> {
  const $result = await $send<Order, OrderError>(
    connection,
    {
      operation: "place_order",
      method: "POST",
      path: "/orders",
      status: 201,
      errorStatuses: [404, 409, 409, 422],
      query: undefined,
      headers: [],
      body: JSON.stringify(order),
      typed: true,
    },
    options,
  );
  return $result;
}

/**
 * `GET /orders/{id}`: Fetch one order.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No order has this id.
 * - `OutOfStock` (409): A product is not in stock.
 * - `InvalidTransition` (409): The order cannot move to the requested status.
 * - `Rejected` (422): The order breaks a business rule.
 */
export async function getOrder(
  connection: Connection,
  id: OrderId,
  options?: CallOptions,
): Promise<CallResult<Order, OrderError>> {
  const $result = await $send<Order, OrderError>(
    connection,
    {
      operation: "get_order",
      method: "GET",
      path: "/orders/" + $pathParameter("get_order", "id", id),
      status: 200,
      errorStatuses: [404, 409, 409, 422],
      query: undefined,
      headers: [],
      body: undefined,
      typed: true,
    },
    options,
  );
  return $result;
}

/**
 * `GET /orders`: List orders, newest first.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No order has this id.
 * - `OutOfStock` (409): A product is not in stock.
 * - `InvalidTransition` (409): The order cannot move to the requested status.
 * - `Rejected` (422): The order breaks a business rule.
 */
export async function listOrders(
  connection: Connection,
  filter?: OrderFilter,
  options?: CallOptions,
): Promise<CallResult<Order[], OrderError>> {
  const $result = await $send<Order[], OrderError>(
    connection,
    {
      operation: "list_orders",
      method: "GET",
      path: "/orders",
      status: 200,
      errorStatuses: [404, 409, 409, 422],
      query: encodeQuery(filter),
      headers: [],
      body: undefined,
      typed: true,
    },
    options,
  );
  return $result;
}

/**
 * `PUT /orders/{id}/status`: Change an order's status.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No order has this id.
 * - `OutOfStock` (409): A product is not in stock.
 * - `InvalidTransition` (409): The order cannot move to the requested status.
 * - `Rejected` (422): The order breaks a business rule.
 */
export async function setStatus(
  connection: Connection,
  id: OrderId,
  change: StatusChange,
  options?: CallOptions,
): Promise<CallResult<Order, OrderError>> {
  const $result = await $send<Order, OrderError>(
    connection,
    {
      operation: "set_status",
      method: "PUT",
      path: "/orders/" + $pathParameter("set_status", "id", id) + "/status",
      status: 200,
      errorStatuses: [404, 409, 409, 422],
      query: undefined,
      headers: [],
      body: JSON.stringify(change),
      typed: true,
    },
    options,
  );
  return $result;
}

/**
 * `DELETE /orders/{id}`: Cancel an order. Repeating a cancellation with the same idempotency key has no further effect.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No order has this id.
 * - `OutOfStock` (409): A product is not in stock.
 * - `InvalidTransition` (409): The order cannot move to the requested status.
 * - `Rejected` (422): The order breaks a business rule.
 */
export async function cancelOrder(
  connection: Connection,
  id: OrderId,
  key?: string | null,
  options?: CallOptions,
): Promise<CallResult<void, OrderError>> {
  const $result = await $send<void, OrderError>(
    connection,
    {
      operation: "cancel_order",
      method: "DELETE",
      path: "/orders/" + $pathParameter("cancel_order", "id", id),
      status: 204,
      errorStatuses: [404, 409, 409, 422],
      query: undefined,
      headers: [["idempotency-key", key]],
      body: undefined,
      typed: true,
    },
    options,
  );
  return $result;
}

/**
 * `GET /stats`: Counts of orders per status.
 */
export async function stats(
  connection: Connection,
  options?: CallOptions,
): Promise<OrderStats> {
  const $result = await $send<OrderStats, never>(
    connection,
    {
      operation: "stats",
      method: "GET",
      path: "/stats",
      status: 200,
      errorStatuses: [],
      query: undefined,
      headers: [],
      body: undefined,
      typed: false,
    },
    options,
  );
  return unwrap($result);
}

/**
 * `GET /health`: Check that the service is up.
 */
export async function health(
  connection: Connection,
  options?: CallOptions,
): Promise<void> {
  const $result = await $send<void, never>(
    connection,
    {
      operation: "health",
      method: "GET",
      path: "/health",
      status: 204,
      errorStatuses: [],
      query: undefined,
      headers: [],
      body: undefined,
      typed: false,
    },
    options,
  );
  return unwrap($result);
}

// ---- Client ----------------------------------------------------------------

/**
 * A client of the `orders` service: one method per request method.
 *
 * Places and tracks customer orders.
 */
export class OrdersClient {
  readonly #connection: Connection;

  /** A client of the server at `baseUrl` (such as `http://127.0.0.1:8080`), or over a connection. */
  constructor(baseUrl: string | Connection) {
    this.#connection = typeof baseUrl === "string" ? { baseUrl } : baseUrl;
  }

  /** Place a new order. */
  placeOrder(
    order: NewOrder,
    options?: CallOptions,
  ): Promise<CallResult<Order, OrderError>> {
    return placeOrder(this.#connection, order, options);
  }

  /** Fetch one order. */
  getOrder(
    id: OrderId,
    options?: CallOptions,
  ): Promise<CallResult<Order, OrderError>> {
    return getOrder(this.#connection, id, options);
  }

  /** List orders, newest first. */
  listOrders(
    filter?: OrderFilter,
    options?: CallOptions,
  ): Promise<CallResult<Order[], OrderError>> {
    return listOrders(this.#connection, filter, options);
  }

  /** Change an order's status. */
  setStatus(
    id: OrderId,
    change: StatusChange,
    options?: CallOptions,
  ): Promise<CallResult<Order, OrderError>> {
    return setStatus(this.#connection, id, change, options);
  }

  /** Cancel an order. Repeating a cancellation with the same idempotency key has no further effect. */
  cancelOrder(
    id: OrderId,
    key?: string | null,
    options?: CallOptions,
  ): Promise<CallResult<void, OrderError>> {
    return cancelOrder(this.#connection, id, key, options);
  }

  /** Counts of orders per status. */
  stats(
    options?: CallOptions,
  ): Promise<OrderStats> {
    return stats(this.#connection, options);
  }

  /** Check that the service is up. */
  health(
    options?: CallOptions,
  ): Promise<void> {
    return health(this.#connection, options);
  }
}

// ---- Events ----------------------------------------------------------------

/** The topic each event is published on. */
export const topics = {
  /** Published once an order is accepted. */
  orderPlaced: "orders.placed",
  /** Published when an order is cancelled. */
  orderCancelled: "orders.cancelled",
} as const;

/** The payload type of each event, by topic. */
export interface OrdersEvents {
  "orders.placed": OrderPlaced;
  "orders.cancelled": OrderCancelled;
}
