#!/usr/bin/env bash
# End-to-end: the official `openai` npm package against the real server (tests/server/js).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
JS="$(cd "$(dirname "$0")/../server/js" && pwd)"
if ! command -v node >/dev/null || [ ! -d "$JS/node_modules/openai" ]; then
  echo "SKIP: node or the openai package is missing (scripts/setup runs npm ci in tests/server/js)"
  exit 77
fi
start_server "$TMP/log" -m "$SHARED/models/stories260K.gguf" --name stories -t 1 || exit 1
GEN_URL=$URL
GEN_PID=$SERVER_PID
start_server "$TMP/log2" -m "$SHARED/oracle/models/bert-f32.gguf" --name bge -t 1 || exit 1
if node "$JS/openai_client_test.mjs" "$GEN_URL" stories "$URL" bge; then ok "openai client"; else bad "openai client"; fi
kill -TERM "$GEN_PID"
wait "$GEN_PID"
finish
