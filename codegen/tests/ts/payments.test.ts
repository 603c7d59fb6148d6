// Calls the generated payments client against the example payments server,
// which requires bearer tokens (with scopes) and an API key: each credential
// form the client takes, and each refusal the server answers with.
// Run by codegen/tests/accord/typescript.rs: it writes server.ts with the
// server's URL, tokens and API key, compiles this file with the client and
// runs it under node.

import { PaymentsClient, ProblemError, getCharge } from "./client.js";
import { API_KEY, BASE_URL, READ_TOKEN, TOKEN } from "./server.js";

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

async function refused(call: () => Promise<unknown>, status: number, type: string): Promise<ProblemError> {
  try {
    await call();
  } catch (error) {
    check(error instanceof ProblemError, `expected a ProblemError, got ${error}`);
    check(error.status === status, `expected ${status}, got ${error.status}: ${error.message}`);
    check(error.problem.type === type, `expected a ${type} problem, got ${error.problem.type}`);
    return error;
  }
  throw new Error(`check failed: the call was not refused with ${status}`);
}

// A public request needs no credential.
const anonymous = new PaymentsClient(BASE_URL);
const health = await anonymous.health();
check(health.ok, "health is public");
console.log("called health without credentials");

// Without a token, a request that requires one is refused with 401.
await refused(() => anonymous.charge({ customer: "c-1", amount_cents: 500 }), 401, "urn:accord:problem:unauthenticated");
console.log("refused charge without a token");

// A token given as a string.
const client = new PaymentsClient({ baseUrl: BASE_URL, token: TOKEN });
const charged = await client.charge({ customer: "c-1", amount_cents: 500 });
check(charged.ok, `charge failed: ${JSON.stringify(charged)}`);
check(charged.status === 201, `charge answered ${charged.status}`);
check(charged.value.charged_by === "dev", `the handler saw the caller: ${JSON.stringify(charged.value)}`);
console.log("called charge with a token");

// A token given as an async function, asked before each call.
let asked = 0;
const refreshing = {
  baseUrl: BASE_URL,
  token: async () => {
    asked += 1;
    return TOKEN;
  },
};
const fetched = await getCharge(refreshing, charged.value.id);
check(fetched.ok && fetched.value.amount_cents === 500, JSON.stringify(fetched));
await getCharge(refreshing, charged.value.id);
check(asked === 2, `the token function is asked per call, was asked ${asked} times`);
console.log("called get_charge with a token function");

// A valid token without the scope is refused with 403 naming it.
const reader = new PaymentsClient({ baseUrl: BASE_URL, token: () => READ_TOKEN });
const forbidden = await refused(() => reader.refund(charged.value.id), 403, "urn:accord:problem:forbidden");
check(forbidden.problem.detail?.includes("payments:write") === true, `the 403 names the scope: ${forbidden.problem.detail}`);
console.log("refused refund without the scope");

// A token that is not one is refused with 401.
const forged = new PaymentsClient({ baseUrl: BASE_URL, token: "not.a.token" });
await refused(() => forged.getCharge(charged.value.id), 401, "urn:accord:problem:unauthenticated");
console.log("refused a malformed token");

// The API key goes in its own header, and only to the request that takes it.
const office = new PaymentsClient({ baseUrl: BASE_URL, apiKey: API_KEY });
const totals = await office.totals();
check(totals.charges === 1 && totals.charged_cents === 500, JSON.stringify(totals));
console.log("called totals with an API key");
await refused(() => new PaymentsClient({ baseUrl: BASE_URL, apiKey: "wrong" }).totals(), 401, "urn:accord:problem:unauthenticated");
console.log("refused a wrong API key");
