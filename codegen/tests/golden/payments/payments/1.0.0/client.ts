// A TypeScript client of the `payments` service, version 1.0.0.
// Written by accord from `payments_contract::Payments`; do not edit, generate it again.
//
// Every request method is an async function sending one HTTP call with
// `fetch`, and a method of `PaymentsClient`. A method with a typed error
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
  /**
   * The bearer token sent as `Authorization: Bearer <token>` to the requests that require one: a
   * string, or a function returning one, asked before every such call (so it may refresh it).
   */
  token?: Credential;
  /**
   * The API key sent in `x-api-key` to the requests that require one: a
   * string, or a function returning one, asked before every such call.
   */
  apiKey?: Credential;
}

/** A credential: the text itself, or a function returning it (or a promise of it). */
export type Credential = string | (() => string | Promise<string>);

async function $credentialText(source: Credential): Promise<string> {
  return typeof source === "function" ? await source() : source;
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
  /** The credential the request requires, if any. */
  credential: "bearer" | "api_key" | undefined;
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
  if (call.credential === "bearer" && connection.token !== undefined) {
    headers["authorization"] = `Bearer ${await $credentialText(connection.token)}`;
  }
  if (call.credential === "api_key" && connection.apiKey !== undefined) {
    headers["x-api-key"] = await $credentialText(connection.apiKey);
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

/** A charge made. */
export interface Charge {
  amount_cents: number;
  /** The subject of the credential that made the charge. */
  charged_by: string;
  customer: string;
  id: number;
  refunded: boolean;
}

/** Published when a charge is made. */
export interface Charged {
  amount_cents: number;
  charge_id: number;
  customer: string;
}

/** Whether the service is up. */
export interface Health {
  ok: boolean;
}

/** A charge to make. */
export interface NewCharge {
  /** The amount in cents. */
  amount_cents: number;
  /** The customer's handle. */
  customer: string;
}

/** What can go wrong with a charge. */
export type PaymentError =
  /** No charge has this id. */
  | { code: "not_found"; id: number }
  /** The amount is zero. */
  | { code: "zero_amount" }
  /** The charge was refunded already. */
  | { code: "already_refunded"; id: number };

/** The totals of every charge so far. */
export interface Totals {
  charged_cents: number;
  charges: number;
  refunded_cents: number;
}

// ---- Requests --------------------------------------------------------------

/**
 * `POST /charges`: Charge a customer; needs a token granting `payments:write`.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No charge has this id.
 * - `ZeroAmount` (422): The amount is zero.
 * - `AlreadyRefunded` (409): The charge was refunded already.
 */
export async function charge(
  connection: Connection,
  charge_: NewCharge,
  options?: CallOptions,
): Promise<CallResult<Charge, PaymentError>> {
  const $result = await $send<Charge, PaymentError>(
    connection,
    {
      operation: "charge",
      method: "POST",
      path: "/charges",
      status: 201,
      errorStatuses: [404, 422, 409],
      query: undefined,
      headers: [],
      body: JSON.stringify(charge_),
      typed: true,
      credential: "bearer",
    },
    options,
  );
  return $result;
}

/**
 * `GET /charges/{id}`: One charge; any valid token.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No charge has this id.
 * - `ZeroAmount` (422): The amount is zero.
 * - `AlreadyRefunded` (409): The charge was refunded already.
 */
export async function getCharge(
  connection: Connection,
  id: number,
  options?: CallOptions,
): Promise<CallResult<Charge, PaymentError>> {
  const $result = await $send<Charge, PaymentError>(
    connection,
    {
      operation: "get_charge",
      method: "GET",
      path: "/charges/" + $pathParameter("get_charge", "id", id),
      status: 200,
      errorStatuses: [404, 422, 409],
      query: undefined,
      headers: [],
      body: undefined,
      typed: true,
      credential: "bearer",
    },
    options,
  );
  return $result;
}

/**
 * `POST /charges/{id}/refund`: Refund a charge; needs `payments:write` and `payments:refund`.
 *
 * A typed error comes back as `{ ok: false, error }`:
 * - `NotFound` (404): No charge has this id.
 * - `ZeroAmount` (422): The amount is zero.
 * - `AlreadyRefunded` (409): The charge was refunded already.
 */
export async function refund(
  connection: Connection,
  id: number,
  options?: CallOptions,
): Promise<CallResult<Charge, PaymentError>> {
  const $result = await $send<Charge, PaymentError>(
    connection,
    {
      operation: "refund",
      method: "POST",
      path: "/charges/" + $pathParameter("refund", "id", id) + "/refund",
      status: 200,
      errorStatuses: [404, 422, 409],
      query: undefined,
      headers: [],
      body: undefined,
      typed: true,
      credential: "bearer",
    },
    options,
  );
  return $result;
}

/**
 * `GET /totals`: The totals, for the back office: an API key granting `reports`.
 */
export async function totals(
  connection: Connection,
  options?: CallOptions,
): Promise<Totals> {
  const $result = await $send<Totals, never>(
    connection,
    {
      operation: "totals",
      method: "GET",
      path: "/totals",
      status: 200,
      errorStatuses: [],
      query: undefined,
      headers: [],
      body: undefined,
      typed: false,
      credential: "api_key",
    },
    options,
  );
  return unwrap($result);
}

/**
 * `GET /health`: Whether the service is up; public.
 */
export async function health(
  connection: Connection,
  options?: CallOptions,
): Promise<Health> {
  const $result = await $send<Health, never>(
    connection,
    {
      operation: "health",
      method: "GET",
      path: "/health",
      status: 200,
      errorStatuses: [],
      query: undefined,
      headers: [],
      body: undefined,
      typed: false,
      credential: undefined,
    },
    options,
  );
  return unwrap($result);
}

// ---- Client ----------------------------------------------------------------

/**
 * A client of the `payments` service: one method per request method.
 *
 * Takes and refunds payments.
 */
export class PaymentsClient {
  readonly #connection: Connection;

  /** A client of the server at `baseUrl` (such as `http://127.0.0.1:8080`), or over a connection. */
  constructor(baseUrl: string | Connection) {
    this.#connection = typeof baseUrl === "string" ? { baseUrl } : baseUrl;
  }

  /** Charge a customer; needs a token granting `payments:write`. */
  charge(
    charge_: NewCharge,
    options?: CallOptions,
  ): Promise<CallResult<Charge, PaymentError>> {
    return charge(this.#connection, charge_, options);
  }

  /** One charge; any valid token. */
  getCharge(
    id: number,
    options?: CallOptions,
  ): Promise<CallResult<Charge, PaymentError>> {
    return getCharge(this.#connection, id, options);
  }

  /** Refund a charge; needs `payments:write` and `payments:refund`. */
  refund(
    id: number,
    options?: CallOptions,
  ): Promise<CallResult<Charge, PaymentError>> {
    return refund(this.#connection, id, options);
  }

  /** The totals, for the back office: an API key granting `reports`. */
  totals(
    options?: CallOptions,
  ): Promise<Totals> {
    return totals(this.#connection, options);
  }

  /** Whether the service is up; public. */
  health(
    options?: CallOptions,
  ): Promise<Health> {
    return health(this.#connection, options);
  }
}

// ---- Events ----------------------------------------------------------------

/** The topic each event is published on. */
export const topics = {
  /** Published once a charge is made. */
  charged: "payments.charged",
} as const;

/** The payload type of each event, by topic. */
export interface PaymentsEvents {
  "payments.charged": Charged;
}
