#!/usr/bin/env bash
# Publishes every contract crate in contracts/ with the accord CLI and checks
# each generated document with pinned third-party validators:
#
#   openapi.json (3.1 and 3.0)  openapi-spec-validator, redocly lint
#   asyncapi.json               @asyncapi/parser, redocly lint
#   schemas/*.json              check-jsonschema --check-metaschema, and every
#                               $ref between the files resolved
#   client.ts                   tsc --noEmit --strict
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
NPM_BIN=$TOOLS/npm/node_modules/.bin

step() { printf '\n---- %s ----\n' "$*"; }

for tool in "$VENV/bin/python" "$VENV/bin/openapi-spec-validator" \
    "$VENV/bin/check-jsonschema" "$NPM_BIN/redocly" "$NPM_BIN/tsc"; do
    if [[ ! -x $tool ]]; then
        echo "error: $tool is missing; install the validators with: bash .ci/run tools" >&2
        echo "(or point ACCORD_TOOLS at a folder that has them)" >&2
        exit 1
    fi
done

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
SCHEMAS=()
for service in "${SERVICES[@]}"; do
    OPENAPI+=("$OUT/3.1/$service/openapi.json" "$OUT/3.0/$service/openapi.json")
    ASYNCAPI+=("$OUT/3.1/$service/asyncapi.json")
    CLIENTS+=("$OUT/3.1/$service/client.ts")
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

step "tsc --noEmit --strict (${#CLIENTS[@]} clients)"
"$NPM_BIN/tsc" --noEmit --strict --target es2022 --lib es2022,dom "${CLIENTS[@]}"
echo "OK"

step "Generated documents passed"
