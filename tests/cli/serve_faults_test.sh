#!/usr/bin/env bash
# End-to-end faults of the real server: a full queue (429 + Retry-After), a request past its
# timeout (504, slot freed), a streaming client that disconnects (generation cancelled, slot
# freed), SIGTERM while a request runs (it finishes within the grace). A random-weight model with
# stories260K's tokenizer makes generation slow enough to catch requests mid-flight.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
M="$TMP/slow.gguf"
"$BIN" make-random -o "$M" --type q8_0 --n-vocab 512 --n-embd 512 --n-layer 8 --n-head 8 --n-ff 1536 \
  --n-ctx 8192 >/dev/null 2>&1 || { bad "make-random"; finish; exit; }
TOK="$SHARED/models/stories260K.gguf"
long='{"prompt":"Once upon a time","max_tokens":6000,"temperature":0,"ignore_eos":true,"stream":true}'
short='{"prompt":"The cat","max_tokens":4,"temperature":0}'
active() { metric 'rightsize_active_sequences{model="slow"}'; }
# wait_for CMD VALUE SECONDS: polls until CMD prints VALUE.
wait_for() {
  for _ in $(seq 1 $(($3 * 10))); do [ "$($1)" = "$2" ] && return 0; sleep 0.1; done
  return 1
}

start_server "$TMP/log" -m "$M" --name slow --tokenizer "$TOK" --parallel 1 --queue 1 -c 8192 --timeout 600 -t 1 || exit 1

# --- full queue: one running, one waiting, the third gets 429 with Retry-After
curl -sN -H 'Content-Type: application/json' -d "$long" "$URL/v1/completions" >"$TMP/long1.txt" &
p1=$!
wait_for active 1 20 || bad "first request never became active"
post /v1/completions "$short" "$TMP/q.json" >"$TMP/qcode" &
p2=$!
wait_for "metric rightsize_queue_depth{model=\"slow\"}" 1 20 || bad "second request not queued"
code=$(curl -s -D "$TMP/h429" -o "$TMP/e429.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$short" "$URL/v1/completions")
[ "$code" = 429 ] && grep -qi '^retry-after: 1' "$TMP/h429" && grep -q rate_limit_error "$TMP/e429.json" &&
  ok "queue full -> 429 with Retry-After" || bad "queue full: $code $(cat "$TMP/e429.json")"

# --- the streaming client disconnects: its generation stops and the queued request runs
kill "$p1" 2>/dev/null
wait "$p1" 2>/dev/null
if wait_for active 0 20 && wait "$p2" && [ "$(cat "$TMP/qcode")" = 200 ]; then
  ok "disconnect cancels the stream; the queued request got the slot"
else
  bad "after disconnect: active=$(active) queued request $(cat "$TMP/qcode")"
fi
gen=$(metric 'rightsize_completion_tokens_total{model="slow"}')
[ "${gen%.*}" -lt 6000 ] && ok "cancelled after ${gen%.*} tokens, not 6000" || bad "generated $gen tokens"

# --- a client that hangs up on a non-streamed request frees the slot too
curl -s -m 2 -H 'Content-Type: application/json' -d "${long/,\"stream\":true/}" "$URL/v1/completions" >/dev/null
wait_for active 0 20 && ok "non-streamed request cancelled when its client left" || bad "non-streamed disconnect: active $(active)"
stop_server

# --- per-request timeout: 504 with an OpenAI error, and the slot is free again
start_server "$TMP/log2" -m "$M" --name slow --tokenizer "$TOK" --parallel 1 -c 8192 --timeout 1 -t 1 || exit 1
code=$(post /v1/completions "${long/,\"stream\":true/}" "$TMP/t.json")
python3 -c "import json,sys; e=json.loads(open(sys.argv[1]).read())['error']; assert e['code']=='timeout'" "$TMP/t.json" &&
  ok "timeout -> error 'timeout' (status $code)" || bad "timeout: $code $(head -c 300 "$TMP/t.json")"
code=$(post /v1/completions "$short" "$TMP/after.json")
[ "$code" = 200 ] && ok "slot free after a timeout" || bad "after timeout: $code"
stop_server

# --- SIGTERM while a request runs: it finishes (within the grace), then the server exits 0
start_server "$TMP/log3" -m "$M" --name slow --tokenizer "$TOK" --parallel 2 -c 8192 --shutdown-grace 30 -t 1 || exit 1
post /v1/completions '{"prompt":"The cat","max_tokens":64,"temperature":0,"ignore_eos":true}' "$TMP/g.json" >"$TMP/gcode" &
pg=$!
wait_for active 1 20
kill -TERM "$SERVER_PID"
wait "$pg"
wait "$SERVER_PID"
rc=$?
SERVER_PID=""
[ "$(cat "$TMP/gcode")" = 200 ] && [ "$(json_get "$TMP/g.json" "j['usage']['completion_tokens']")" = 64 ] && [ "$rc" = 0 ] &&
  ok "SIGTERM: the running request finished, exit 0" || bad "SIGTERM drain: $(cat "$TMP/gcode") rc=$rc $(head -c 200 "$TMP/g.json")"
finish
