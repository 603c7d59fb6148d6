// Calls every request method of the generated orders client against the
// example orders server, checking values, typed errors and problems.
// Run by codegen/tests/accord/typescript.rs: it writes server.ts with the
// server's URL, compiles this file with the client and runs it under node.

import {
  OrdersClient,
  ProblemError,
  ProtocolError,
  ServiceError,
  encodePathSegment,
  encodeQuery,
  placeOrder,
  topics,
  unwrap,
  type NewOrder,
  type OrderError,
} from "./client.js";
import { BASE_URL } from "./server.js";

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function called(operation: string): void {
  console.log(`called ${operation}`);
}

const client = new OrdersClient(BASE_URL);

function newOrder(sku: string, quantity: number): NewOrder {
  return {
    customer_id: "c-1",
    lines: [{ sku, quantity }],
    delivery: { method: "ship", address: { street: "1 Main St", city: "Springfield", country: "US" }, express: false },
    payment: { type: "card", details: { last4: "4242" } },
    labels: { campaign: "spring & summer" },
  };
}

// place_order: 201 with the order.
const placed = await client.placeOrder(newOrder("apple", 3));
check(placed.ok, `place_order failed: ${JSON.stringify(placed)}`);
check(placed.status === 201, `place_order answered ${placed.status}`);
const order = placed.value;
check(order.status === "placed" && order.total_cents === 150, JSON.stringify(order));
check(order.labels?.["campaign"] === "spring & summer", "labels survive the round trip");
called("place_order");

// A typed error comes back as a value, not an exception.
const tooMany = await client.placeOrder(newOrder("melon", 10));
check(!tooMany.ok, "ten melons are out of stock");
check(tooMany.status === 409, `out of stock answered ${tooMany.status}`);
check(tooMany.error.code === "out_of_stock" && tooMany.error.available === 3, JSON.stringify(tooMany.error));

// The standalone function does the same as the method.
const viaFunction = await placeOrder({ baseUrl: BASE_URL }, newOrder("pear", 1));
check(viaFunction.ok && viaFunction.value.total_cents === 70, JSON.stringify(viaFunction));

// get_order, and its typed error.
const fetched = unwrap(await client.getOrder(order.id));
check(fetched.id === order.id && fetched.lines[0]?.sku === "apple", JSON.stringify(fetched));
const missing = await client.getOrder(999_999);
check(!missing.ok && missing.error.code === "not_found" && missing.error.id === 999_999, JSON.stringify(missing));
console.log(`typed error: ${missing.error.code} ${missing.status}`);
try {
  unwrap(await client.getOrder(999_998));
  check(false, "unwrap throws a typed error");
} catch (error) {
  check(error instanceof ServiceError, `unwrap threw ${error}`);
  const typed = error.error as OrderError;
  check(error.status === 404 && typed.code === "not_found", JSON.stringify(error.problem));
}
called("get_order");

// list_orders: the query string, with the filter left out or given.
const everything = unwrap(await client.listOrders());
check(everything.length === 2, `listed ${everything.length} orders`);
const mine = unwrap(await client.listOrders({ customer_id: "c-1", status: "placed", limit: 1 }));
check(mine.length === 1, `listed ${mine.length} orders with limit 1`);
const nobody = unwrap(await client.listOrders({ customer_id: "nobody at all" }));
check(nobody.length === 0, "no orders of an unknown customer");
called("list_orders");

// set_status: a path parameter and a JSON body, and a typed error.
const shipped = unwrap(await client.setStatus(order.id, { status: "shipped", reason: "on its way" }));
check(shipped.status === "shipped", JSON.stringify(shipped));
const backwards = await client.setStatus(order.id, { status: "placed" });
check(!backwards.ok && backwards.error.code === "invalid_transition", JSON.stringify(backwards));
if (!backwards.ok && backwards.error.code === "invalid_transition") {
  check(backwards.error.from === "shipped" && backwards.error.to === "placed", JSON.stringify(backwards.error));
}
called("set_status");

// cancel_order: a header; repeating the key has no further effect.
const second = unwrap(await client.placeOrder(newOrder("pear", 2)));
const cancelled = await client.cancelOrder(second.id, "key-1");
check(cancelled.ok && cancelled.status === 204 && cancelled.value === undefined, JSON.stringify(cancelled));
const repeated = await client.cancelOrder(second.id, "key-1");
check(repeated.ok, "a repeated cancellation with the same key succeeds");
check(unwrap(await client.getOrder(second.id)).status === "cancelled", "the order is cancelled");
const shippedCancel = await client.cancelOrder(order.id);
check(!shippedCancel.ok && shippedCancel.status === 409, "a shipped order cannot be cancelled");
called("cancel_order");

// stats and health: methods without a typed error return the value itself.
const stats = await client.stats();
check(stats.total === 3 && stats.by_status["cancelled"] === 1, JSON.stringify(stats));
called("stats");
const health = await client.health();
check(health === undefined, "health has no content");
called("health");

// Input the server rejects is a generic problem, thrown with the field named.
try {
  await client.placeOrder({ ...newOrder("apple", 1), lines: [{ sku: "apple", quantity: -1 }] });
  check(false, "a negative quantity is rejected");
} catch (error) {
  check(error instanceof ProblemError, `rejected input threw ${error}`);
  check(error.status === 422, `rejected input answered ${error.status}`);
  const fields = (error.problem.errors ?? []).map((e) => e.field);
  check(fields.includes("lines[0].quantity"), `rejected fields: ${fields}`);
}

// Encoding as the Rust client encodes.
check(
  encodePathSegment("a b/c?d#e%f~g!$&'()*+,;=:@ü") === "a%20b%2Fc%3Fd%23e%25f~g!$&'()*+,;=:@%C3%BC",
  encodePathSegment("a b/c?d#e%f~g!$&'()*+,;=:@ü"),
);
check(encodePathSegment(42) === "42", "numbers are written as they are");
check(encodePathSegment(".") === "%2E" && encodePathSegment("..") === "%2E%2E", "dot segments are encoded");
check(encodePathSegment("...") === "..." && encodePathSegment("a.b") === "a.b", "other dots are kept");

// fetch's URL parser drops a dot segment even percent-encoded, so a call
// with `.` or `..` as a path parameter is refused before anything is sent.
check(new URL(`${BASE_URL}/orders/%2E%2E`).pathname === "/", "WHATWG URLs drop %2E%2E");
let sent = 0;
const sentSoFar = (): number => sent;
const counting = new OrdersClient({
  baseUrl: BASE_URL,
  fetch: (input, init) => {
    sent += 1;
    return fetch(input, init);
  },
});
for (const dots of [".", ".."]) {
  try {
    await counting.getOrder(dots as unknown as number);
    check(false, `a path parameter ${dots} is refused`);
  } catch (error) {
    check(error instanceof TypeError, `${dots} threw ${error}`);
    check(error.message.includes("get_order: path parameter `id`"), error.message);
  }
}
check(sentSoFar() === 0, `${sentSoFar()} calls were sent`);
check(unwrap(await counting.getOrder(order.id)).id === order.id, "other values are sent");
check(sentSoFar() === 1, "one call sent");
console.log("dot segments refused");

// A reply whose status contradicts the contract is a protocol error.
function answering(status: number, contentType: string, body: unknown): OrdersClient {
  return new OrdersClient({
    baseUrl: BASE_URL,
    fetch: async () => new Response(JSON.stringify(body), { status, headers: { "content-type": contentType } }),
  });
}
async function protocolError(call: Promise<unknown>): Promise<ProtocolError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ProtocolError) {
      return error;
    }
    throw error;
  }
  throw new Error("check failed: the reply was accepted");
}
const okInsteadOfCreated = await protocolError(answering(200, "application/json", order).placeOrder(newOrder("apple", 1)));
check(okInsteadOfCreated.status === 200 && okInsteadOfCreated.message.includes("declares status 201"), okInsteadOfCreated.message);
const undeclared = await protocolError(
  answering(400, "application/problem+json", {
    type: "urn:accord:problem:service-error",
    title: "Out of stock",
    status: 400,
    error: { code: "out_of_stock", sku: "apple", available: 0 },
  }).getOrder(1),
);
check(undeclared.message.includes("no service error with this status"), undeclared.message);
const mismatched = await protocolError(
  answering(503, "application/problem+json", { type: "about:blank", title: "Busy", status: 500 }).stats(),
);
check(mismatched.message.includes("the problem document says status 500"), mismatched.message);
console.log("contradicting statuses refused");
check(
  encodeQuery({ status: "placed", limit: 5, gone: undefined, none: null, tags: ["a b", "c&d"] }) ===
    "status=placed&limit=5&tags=a+b&tags=c%26d",
  encodeQuery({ status: "placed", limit: 5, tags: ["a b", "c&d"] }),
);
check(topics.orderPlaced === "orders.placed", "event topics are exported");

console.log("all checks passed");
