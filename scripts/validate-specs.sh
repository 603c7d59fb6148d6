#!/usr/bin/env bash
# Checks the OpenAPI and AsyncAPI documents that the orders example serves
# with pinned third-party validators, then probes the running server with
# schemathesis to check it behaves as its OpenAPI document says. Then the
# same for the payments example, which requires credentials: it runs in
# development mode, prints a token and an API key, and schemathesis sends
# both with every request.
#
#   ACCORD_TOOLS=DIR      where the validators are installed (default .ci-cache)
#   ACCORD_ARTEFACTS=DIR  where the documents and reports are kept
#                         (default target/spec-artefacts)
#
# Installs nothing: `bash .ci/run tools` sets the validators up.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS=$(realpath -m "${ACCORD_TOOLS:-.ci-cache}")
ARTEFACTS=$(realpath -m "${ACCORD_ARTEFACTS:-target/spec-artefacts}")
VENV=$TOOLS/venv
NPM_BIN=$TOOLS/npm/node_modules/.bin

step() { printf '\n---- %s ----\n' "$*"; }

for tool in "$VENV/bin/python" "$VENV/bin/openapi-spec-validator" \
    "$VENV/bin/schemathesis" "$NPM_BIN/redocly"; do
    if [[ ! -x $tool ]]; then
        echo "error: $tool is missing; install the validators with: bash .ci/run tools" >&2
        echo "(or point ACCORD_TOOLS at a folder that has them)" >&2
        exit 1
    fi
done

TMP=$(mktemp -d)
SERVER_PID=
PAYMENTS_PID=
# Stop the servers and drop the temp folder however the script ends.
cleanup() {
    for pid in "$SERVER_PID" "$PAYMENTS_PID"; do
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Build orders-server"
# Run the built binary directly rather than through `cargo run`, so the
# server starts without waiting on cargo's lock and its PID is the one killed.
SERVER_BIN=$(cargo build -p orders-server --bin orders-server \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' |
    tail -n 1)
if [[ -z $SERVER_BIN ]]; then
    echo "error: cargo did not report the orders-server executable" >&2
    exit 1
fi

step "Start orders-server"
# Ask the kernel for a free loopback port.
PORT=$("$VENV/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_LOG=$TMP/orders-server.log
RUST_LOG=${RUST_LOG:-warn} "$SERVER_BIN" "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$BASE/health" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        echo "error: orders-server did not answer on $BASE; its log:" >&2
        cat "$SERVER_LOG" >&2
        exit 1
    fi
    sleep 0.2
done
echo "orders-server (pid $SERVER_PID) on $BASE"

SPEC=$TMP/openapi.json
ASYNC_SPEC=$TMP/asyncapi.json
curl -fsS -o "$SPEC" "$BASE/openapi.json"
curl -fsS -o "$ASYNC_SPEC" "$BASE/asyncapi.json"
mkdir -p "$ARTEFACTS"
cp "$SPEC" "$ARTEFACTS/orders-openapi.json"
cp "$ASYNC_SPEC" "$ARTEFACTS/orders-asyncapi.json"
echo "saved the served documents as $ARTEFACTS/orders-openapi.json and orders-asyncapi.json"

step "openapi-spec-validator"
"$VENV/bin/openapi-spec-validator" "$SPEC"

step "AsyncAPI parser"
# The parser reports problems as diagnostics; errors (severity 0) fail.
NODE_PATH=$TOOLS/npm/node_modules node - "$ASYNC_SPEC" <<'JS'
const { Parser } = require("@asyncapi/parser");
const fs = require("fs");
const file = process.argv[2];
new Parser().parse(fs.readFileSync(file, "utf8")).then(({ document, diagnostics }) => {
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors) console.error(d.code, "/" + d.path.join("/"), d.message);
  if (!document || errors.length) process.exit(1);
  console.log(`${file}: OK`);
});
JS

step "redocly lint (minimal)"
# security-defined is skipped here: the orders contract declares no
# authentication. The payments contract below does, and is linted with it.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$NPM_BIN/redocly" lint "$SPEC" "$ASYNC_SPEC" --extends=minimal --skip-rule=security-defined

step "schemathesis against $BASE"
# Bounded per operation so the run ends by itself. Run from the temp folder
# so schemathesis's own files stay out of the work tree.
status=0
(
    cd "$TMP"
    "$VENV/bin/schemathesis" run "$SPEC" --url "$BASE" \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --report junit --report-junit-path "$ARTEFACTS/schemathesis-junit.xml"
) || status=$?
cp "$SERVER_LOG" "$ARTEFACTS/orders-server.log"
echo "schemathesis report: $ARTEFACTS/schemathesis-junit.xml; server log: $ARTEFACTS/orders-server.log"
if ((status != 0)); then
    echo "error: schemathesis found problems (exit $status)" >&2
    exit "$status"
fi

step "Build and start payments-server (development mode)"
PAYMENTS_BIN=$(cargo build -p payments-server --bin payments-server \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' |
    tail -n 1)
if [[ -z $PAYMENTS_BIN ]]; then
    echo "error: cargo did not report the payments-server executable" >&2
    exit 1
fi
PAYMENTS_PORT=$("$VENV/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PAYMENTS=http://127.0.0.1:$PAYMENTS_PORT
PAYMENTS_OUT=$TMP/payments-server.out
PAYMENTS_LOG=$TMP/payments-server.log
RUST_LOG=${RUST_LOG:-warn} "$PAYMENTS_BIN" --listen "127.0.0.1:$PAYMENTS_PORT" \
    >"$PAYMENTS_OUT" 2>"$PAYMENTS_LOG" &
PAYMENTS_PID=$!
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$PAYMENTS/health" 2>/dev/null && grep -q '^api key: ' "$PAYMENTS_OUT"; do
    if ! kill -0 "$PAYMENTS_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        echo "error: payments-server did not answer on $PAYMENTS; its log:" >&2
        cat "$PAYMENTS_OUT" "$PAYMENTS_LOG" >&2
        exit 1
    fi
    sleep 0.2
done
TOKEN=$(sed -n 's/^token: //p' "$PAYMENTS_OUT")
API_KEY=$(sed -n 's/^api key: //p' "$PAYMENTS_OUT")
echo "payments-server (pid $PAYMENTS_PID) on $PAYMENTS"

# The refusals the documents promise, before any credential is supplied.
unauthenticated=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d '{"customer":"c-1","amount_cents":1}' "$PAYMENTS/charges")
if [[ $unauthenticated != 401 ]]; then
    echo "error: a charge without a token was answered $unauthenticated, not 401" >&2
    exit 1
fi

PAY_SPEC=$TMP/payments-openapi.json
PAY_ASYNC=$TMP/payments-asyncapi.json
curl -fsS -o "$PAY_SPEC" "$PAYMENTS/openapi.json"
curl -fsS -o "$PAY_ASYNC" "$PAYMENTS/asyncapi.json"
cp "$PAY_SPEC" "$ARTEFACTS/payments-openapi.json"
cp "$PAY_ASYNC" "$ARTEFACTS/payments-asyncapi.json"
if ! jq -e '.components.securitySchemes.bearer.scheme == "bearer"' "$PAY_SPEC" >/dev/null; then
    echo "error: the payments OpenAPI document does not declare its bearer scheme" >&2
    exit 1
fi

step "payments: openapi-spec-validator, AsyncAPI parser, redocly"
"$VENV/bin/openapi-spec-validator" "$PAY_SPEC"
NODE_PATH=$TOOLS/npm/node_modules node - "$PAY_ASYNC" <<'JS'
const { Parser } = require("@asyncapi/parser");
const fs = require("fs");
const file = process.argv[2];
new Parser().parse(fs.readFileSync(file, "utf8")).then(({ document, diagnostics }) => {
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors) console.error(d.code, "/" + d.path.join("/"), d.message);
  if (!document || errors.length) process.exit(1);
  console.log(`${file}: OK`);
});
JS
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$NPM_BIN/redocly" lint "$PAY_SPEC" "$PAY_ASYNC" --extends=minimal

step "schemathesis against $PAYMENTS, with a token and an API key"
status=0
(
    cd "$TMP"
    "$VENV/bin/schemathesis" run "$PAY_SPEC" --url "$PAYMENTS" \
        --header "Authorization: Bearer $TOKEN" --header "x-api-key: $API_KEY" \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --report junit --report-junit-path "$ARTEFACTS/schemathesis-payments-junit.xml"
) || status=$?
cp "$PAYMENTS_LOG" "$ARTEFACTS/payments-server.log"
if ((status != 0)); then
    echo "error: schemathesis found problems with payments-server (exit $status)" >&2
    exit "$status"
fi

step "Generated AsyncAPI of contracts/orders, with servers and bindings"
# What `accord generate` publishes for a deployment: servers given on the
# command line, and the NATS and AMQP bindings that name the stream,
# exchanges and queues.
ACCORD_BIN=$(cargo build -p accord-codegen --bin accord \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' |
    tail -n 1)
"$ACCORD_BIN" generate contracts/orders --out "$TMP/published" --lang typescript --quiet \
    --server production=nats://nats.internal:4222 \
    --server rabbit=amqp://rabbit.internal:5672/%2f
GEN_ASYNC=$TMP/published/orders/1.2.0/asyncapi.json
cp "$GEN_ASYNC" "$ARTEFACTS/orders-asyncapi-generated.json"
for check in '.servers.production.protocol == "nats"' '.servers.rabbit.protocol == "amqp"' \
    '.operations.order_placed.bindings.nats["x-accord-stream"] == "ACCORD_orders_placed"' \
    '.channels.order_placed.bindings.amqp.exchange.name == "accord.events"' \
    '.operations.place_order.bindings.nats.queue == "orders"'; do
    if [[ $(jq "$check" "$GEN_ASYNC") != true ]]; then
        echo "error: the generated AsyncAPI document fails: $check" >&2
        exit 1
    fi
done
NODE_PATH=$TOOLS/npm/node_modules node - "$GEN_ASYNC" <<'JS'
const { Parser } = require("@asyncapi/parser");
const fs = require("fs");
const file = process.argv[2];
new Parser().parse(fs.readFileSync(file, "utf8")).then(({ document, diagnostics }) => {
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors) console.error(d.code, "/" + d.path.join("/"), d.message);
  if (!document || errors.length) process.exit(1);
  console.log(`${file}: OK`);
});
JS
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$NPM_BIN/redocly" lint "$GEN_ASYNC" --extends=minimal --skip-rule=security-defined

step "Spec validators passed"
