#!/usr/bin/env bash
# Publishes every contract crate in contracts/ with the accord CLI and checks
# each generated document with pinned third-party validators:
#
#   openapi.json (3.1 and 3.0)  openapi-spec-validator, redocly lint
#   asyncapi.json               @asyncapi/parser, redocly lint
#   schemas/*.json              check-jsonschema --check-metaschema, and every
#                               $ref between the files resolved
#   client.ts                   tsc --noEmit --strict, with noUncheckedIndexedAccess,
#                               exactOptionalPropertyTypes, noUnusedLocals and the
#                               other flags of a strictest tsconfig
#   python/                     mypy --strict, ruff check, pip install; the orders
#                               client's pytest suite (codegen/tests/python) against
#                               the example orders server, started here
#
#   ACCORD_TOOLS=DIR      where the validators are installed (default .ci-cache)
#   ACCORD_ARTEFACTS=DIR  where the generated files are kept
#                         (default target/spec-artefacts; they go to DIR/generated)
#
# Installs nothing: `bash .ci/run tools` sets the validators up.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS=$(realpath -m "${ACCORD_TOOLS:-.ci-cache}")
OUT=$(realpath -m "${ACCORD_ARTEFACTS:-target/spec-artefacts}")/generated
VENV=$TOOLS/venv
CLIENT_VENV=$TOOLS/venv-client
NPM_BIN=$TOOLS/npm/node_modules/.bin
# Strict TypeScript as many projects configure it.
TSC_FLAGS=(--noEmit --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes
    --noUnusedLocals --noUnusedParameters --noImplicitReturns --noFallthroughCasesInSwitch
    --noImplicitOverride --noPropertyAccessFromIndexSignature --target es2022 --lib es2022,dom)

step() { printf '\n---- %s ----\n' "$*"; }

for tool in "$VENV/bin/python" "$VENV/bin/openapi-spec-validator" \
    "$VENV/bin/check-jsonschema" "$NPM_BIN/redocly" "$NPM_BIN/tsc" \
    "$CLIENT_VENV/bin/mypy" "$CLIENT_VENV/bin/ruff" "$CLIENT_VENV/bin/pytest"; do
    if [[ ! -x $tool ]]; then
        echo "error: $tool is missing; install the validators with: bash .ci/run tools" >&2
        echo "(or point ACCORD_TOOLS at a folder that has them)" >&2
        exit 1
    fi
done

SERVER_PID=
# Stop the orders server however the script ends.
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Build accord"
ACCORD=$(cargo build -p accord-codegen --bin accord \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "accord" and .executable != null) | .executable' |
    tail -n 1)
if [[ -z $ACCORD ]]; then
    echo "error: cargo did not report the accord executable" >&2
    exit 1
fi

step "accord generate contracts/ (OpenAPI 3.1 and 3.0)"
rm -rf "$OUT"
# The exporter cache the tests use too, so a CI run builds it once.
"$ACCORD" generate contracts/ --out "$OUT/3.1" --cache-dir target/accord-export
"$ACCORD" generate contracts/ --out "$OUT/3.0" --cache-dir target/accord-export \
    --openapi-version 3.0 --quiet

mapfile -t SERVICES < <(cd "$OUT/3.1" && find . -mindepth 2 -maxdepth 2 -type d | sed 's|^\./||' | sort)
if ((${#SERVICES[@]} == 0)); then
    echo "error: accord generated no service" >&2
    exit 1
fi
echo "services: ${SERVICES[*]}"
OPENAPI=()
ASYNCAPI=()
CLIENTS=()
PACKAGES=()
SCHEMAS=()
for service in "${SERVICES[@]}"; do
    OPENAPI+=("$OUT/3.1/$service/openapi.json" "$OUT/3.0/$service/openapi.json")
    ASYNCAPI+=("$OUT/3.1/$service/asyncapi.json")
    CLIENTS+=("$OUT/3.1/$service/client.ts")
    PACKAGES+=("$OUT/3.1/$service/python")
    SCHEMAS+=("$OUT/3.1/$service"/schemas/*.json)
done

step "openapi-spec-validator (3.1 and 3.0)"
"$VENV/bin/openapi-spec-validator" "${OPENAPI[@]}"

step "AsyncAPI parser"
# The parser reports problems as diagnostics; errors (severity 0) fail.
NODE_PATH=$TOOLS/npm/node_modules node - "${ASYNCAPI[@]}" <<'JS'
const { Parser } = require("@asyncapi/parser");
const fs = require("fs");
(async () => {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, "utf8"));
    const errors = diagnostics.filter((d) => d.severity === 0);
    for (const d of errors) console.error(file, d.code, "/" + d.path.join("/"), d.message);
    if (!document || errors.length) failed = true;
    else console.log(`${file}: OK`);
  }
  if (failed) process.exit(1);
})();
JS

step "redocly lint (minimal)"
# security-defined is skipped: a contract does not describe authentication.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$NPM_BIN/redocly" lint "${OPENAPI[@]}" "${ASYNCAPI[@]}" \
    --extends=minimal --skip-rule=security-defined

step "check-jsonschema --check-metaschema (${#SCHEMAS[@]} schema files)"
"$VENV/bin/check-jsonschema" --check-metaschema "${SCHEMAS[@]}"

step "every \$ref between schema files resolves"
"$VENV/bin/python" - "${SCHEMAS[@]}" <<'PY'
import json, pathlib, sys
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

files = [pathlib.Path(p).resolve() for p in sys.argv[1:]]
registry = Registry().with_resources(
    (f.as_uri(), Resource.from_contents(json.loads(f.read_text()), default_specification=DRAFT202012))
    for f in files
)

def refs(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "$ref" and isinstance(inner, str):
                yield inner
            elif key not in ("const", "enum", "default", "examples"):
                yield from refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from refs(inner)

count = 0
for f in files:
    resolver = registry.resolver(base_uri=f.as_uri())
    for ref in refs(json.loads(f.read_text())):
        resolver.lookup(ref)  # raises when the reference does not resolve
        count += 1
print(f"{count} references in {len(files)} files resolve")
PY

step "tsc ${TSC_FLAGS[*]} (${#CLIENTS[@]} clients)"
"$NPM_BIN/tsc" "${TSC_FLAGS[@]}" "${CLIENTS[@]}"
echo "OK"

# Nothing is written beside the generated sources: no bytecode, caches here.
export PYTHONDONTWRITEBYTECODE=1
export MYPY_CACHE_DIR=$OUT/.mypy-cache RUFF_CACHE_DIR=$OUT/.ruff-cache

step "mypy --strict and ruff check (${#PACKAGES[@]} Python clients)"
for package in "${PACKAGES[@]}"; do
    echo "$package"
    (cd "$package" && "$CLIENT_VENV/bin/mypy" --strict . && "$CLIENT_VENV/bin/ruff" check .)
done

step "pip install of every Python client"
SITE=$OUT/python-site
for package in "${PACKAGES[@]}"; do
    # pip builds where it installs from: a copy keeps the output as accord
    # wrote it. The pinned setuptools builds it: no isolated build, no download.
    copy=$(mktemp -d)
    cp -R "$package/." "$copy"
    "$CLIENT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-deps --no-build-isolation --target "$SITE" "$copy"
    rm -rf "$copy"
done
ls "$SITE"

step "import every Python client (pydantic builds every model; a warning fails)"
MODULES=$(cd "$SITE" && find . -mindepth 2 -maxdepth 2 -name __init__.py | cut -d/ -f2 | sort | paste -sd, -)
echo "import $MODULES"
PYTHONPATH=$SITE "$CLIENT_VENV/bin/python" -W error -c "import $MODULES"

step "mypy --strict and ruff check of the Python client tests (the client used as a user would)"
(cd codegen/tests/python && MYPYPATH=$SITE "$CLIENT_VENV/bin/mypy" --strict . &&
    "$CLIENT_VENV/bin/ruff" check .)

step "Build and start orders-server"
# The built binary is run directly, so its PID is the one stopped.
SERVER_BIN=$(cargo build -p orders-server --bin orders-server \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' |
    tail -n 1)
if [[ -z $SERVER_BIN ]]; then
    echo "error: cargo did not report the orders-server executable" >&2
    exit 1
fi
PORT=$("$CLIENT_VENV/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_LOG=$OUT/orders-server.log
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

step "pytest: the Python orders client against orders-server"
(cd codegen/tests/python && PYTHONPATH=$SITE ACCORD_ORDERS_URL=$BASE \
    timeout 300 "$CLIENT_VENV/bin/pytest" -p no:cacheprovider)

step "Generated documents passed"
