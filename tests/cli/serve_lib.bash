# Helpers for the server end-to-end tests (sourced after lib.bash).
# start_server LOG ARGS...: starts `rightsize serve --port 0 ARGS` in the background, waits until
# it listens, and sets SERVER_PID and URL.
start_server() {
  local log=$1
  shift
  "$BIN" serve --port 0 "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    local port
    port=$(sed -n 's#.*listening on http://[^:]*:\([0-9]*\).*#\1#p' "$log" | head -1)
    if [ -n "$port" ]; then
      URL="http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited: $(cat "$log")"; return 1; }
    sleep 0.1
  done
  echo "server did not start: $(cat "$log")"
  return 1
}
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_RC=$?
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT
# post PATH BODY OUT: POST JSON, writes the body to OUT, prints the HTTP status.
post() { curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' "${@:4}" -d "$2" "$URL$1"; }
# metric NAME_WITH_LABELS: the value of one sample from /metrics ("" when absent).
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }

# train_clinc5_router: $TMP/{train,validation,test}.jsonl with five CLINC150 intents + oos (from
# $C), a router trained on train/validation in $TMP/router.bin, and its test predictions in
# $TMP/pred.json. Exits the test when training fails.
train_clinc5_router() {
  python3 - "$C" "$TMP" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
keep = {"translate", "weather", "timer", "balance", "transfer", "oos"}
for split in ("train", "validation", "test"):
    with open(f"{src}/{split}.jsonl") as f, open(f"{out}/{split}.jsonl", "w") as g:
        for line in f:
            if json.loads(line)["label"] in keep:
                g.write(line)
PY
  "$BIN" train-router --train "$TMP/train.jsonl" --validation "$TMP/validation.jsonl" \
    --out "$TMP/router.bin" >/dev/null 2>"$TMP/train.err" && ok "train-router" ||
    { bad "train-router: $(tail -3 "$TMP/train.err")"; finish; exit 1; }
  "$BIN" classify --router "$TMP/router.bin" --data "$TMP/test.jsonl" --json >"$TMP/pred.json" 2>/dev/null ||
    bad "classify"
}
