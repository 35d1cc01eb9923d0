#!/usr/bin/env bash
# End-to-end: the real `rightsize serve` on a loopback port, driven with curl. OpenAI wire format,
# batching invisible in the output, streaming, embeddings, errors, metrics (promtool), shutdown.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
M="$SHARED/models/stories260K.gguf"
BERT="$SHARED/oracle/models/bert-f32.gguf"

start_server "$TMP/log" -m "$M" --name stories --parallel 4 --batch-tokens 16 -t 2 || exit 1

# --- models, health
code=$(curl -s -o "$TMP/models.json" -w '%{http_code}' "$URL/v1/models")
[ "$code" = 200 ] && [ "$(json_get "$TMP/models.json" "j['data'][0]['id']")" = stories ] &&
  ok "GET /v1/models" || bad "GET /v1/models: $code $(cat "$TMP/models.json")"
[ "$(curl -s "$URL/health")" = '{"status":"ok"}' ] && ok "/health" || bad "/health"

# --- a completion equals `rightsize run` (the engine's own path) token for token
"$BIN" run -m "$M" -p "Once upon a time" -n 40 --temp 0 --json >"$TMP/run.json" 2>/dev/null
code=$(post /v1/completions '{"model":"stories","prompt":"Once upon a time","max_tokens":40,"temperature":0}' "$TMP/c.json")
want=$(json_get "$TMP/run.json" "j['text']")
got=$(json_get "$TMP/c.json" "j['choices'][0]['text']")
[ "$code" = 200 ] && [ -n "$got" ] && [ "$got" = "$want" ] && ok "completion = run --json" ||
  bad "completion: $code got '$got' want '$want'"
[ "$(json_get "$TMP/c.json" "j['usage']['completion_tokens']")" = "$(json_get "$TMP/run.json" "len(j['ids'])")" ] &&
  [ "$(json_get "$TMP/c.json" "j['object']")" = text_completion ] && ok "usage and object" ||
  bad "usage: $(cat "$TMP/c.json")"

# --- 16 concurrent greedy requests return exactly what they return one at a time
prompts=("Once upon a time" "The cat" "Lily wanted" "One day, a little bird" "Tom and Sue" "The sun was"
  "There was a big" "A dog named Max" "Mom said" "The tree" "Ben liked to" "In the park" "The little girl"
  "Sam found a" "It was a sunny day" "The boy")
body() { printf '{"model":"stories","messages":[{"role":"user","content":"%s"}],"max_tokens":%d,"temperature":0}' "$1" $((20 + $2 * 3)); }
pids=()
for i in "${!prompts[@]}"; do
  post /v1/chat/completions "$(body "${prompts[$i]}" "$i")" "$TMP/par$i.json" >"$TMP/parcode$i" &
  pids+=($!)
done
wait "${pids[@]}"  # not a bare `wait`: that would wait for the server too
same=0
for i in "${!prompts[@]}"; do
  post /v1/chat/completions "$(body "${prompts[$i]}" "$i")" "$TMP/seq$i.json" >/dev/null
  a=$(json_get "$TMP/par$i.json" "j['choices'][0]['message']['content'] + '|' + str(j['usage']['completion_tokens'])")
  b=$(json_get "$TMP/seq$i.json" "j['choices'][0]['message']['content'] + '|' + str(j['usage']['completion_tokens'])")
  [ "$(cat "$TMP/parcode$i")" = 200 ] && [ "$a" = "$b" ] && [ ${#a} -gt 3 ] && same=$((same + 1)) ||
    echo "  request $i differs: '$a' vs '$b'"
done
[ "$same" = 16 ] && ok "16 concurrent greedy chat requests = one at a time" || bad "only $same/16 identical"
cached=$(metric 'rightsize_prompt_tokens_cached_total{model="stories"}')
[ -n "$cached" ] && [ "${cached%.*}" -gt 0 ] && ok "shared prompt prefixes reused ($cached tokens)" ||
  bad "no cached prefix tokens: '$cached'"

# --- streaming: SSE chunks concatenate to the non-streamed answer, then [DONE]
curl -sN -H 'Content-Type: application/json' "$URL/v1/chat/completions" \
  -d "$(body "${prompts[0]}" 0 | sed 's/}$/,"stream":true,"stream_options":{"include_usage":true}}/')" >"$TMP/sse.txt"
python3 - "$TMP/sse.txt" "$TMP/seq0.json" <<'PY' && ok "streamed chat = non-streamed, usage chunk, [DONE]" || bad "stream: $(head -c 600 "$TMP/sse.txt")"
import json, sys
lines = [l for l in open(sys.argv[1]).read().split("\n") if l]
assert all(l.startswith("data: ") for l in lines), lines
assert lines[-1] == "data: [DONE]"
chunks = [json.loads(l[6:]) for l in lines[:-1]]
assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
ref = json.load(open(sys.argv[2]))
assert text == ref["choices"][0]["message"]["content"], (text, ref)
assert finish == [ref["choices"][0]["finish_reason"]]
assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == ref["usage"]["completion_tokens"]
assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
PY

# --- stop strings, seeds, logprobs
post /v1/completions '{"prompt":"Once upon a time","max_tokens":60,"temperature":0,"stop":["."]}' "$TMP/stop.json" >/dev/null
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); c=j['choices'][0]; assert c['finish_reason']=='stop' and '.' not in c['text'] and sys.argv[2].startswith(c['text'])" \
  "$TMP/stop.json" "$want" && ok "stop string" || bad "stop: $(cat "$TMP/stop.json")"
s1=$(post /v1/completions '{"prompt":"The cat","max_tokens":30,"temperature":1.0,"seed":42}' "$TMP/s1.json")
s2=$(post /v1/completions '{"prompt":"The cat","max_tokens":30,"temperature":1.0,"seed":42}' "$TMP/s2.json")
[ "$s1$s2" = 200200 ] && [ "$(json_get "$TMP/s1.json" "j['choices'][0]['text']")" = "$(json_get "$TMP/s2.json" "j['choices'][0]['text']")" ] &&
  ok "same seed, same sample" || bad "seeded sampling differs"
post /v1/chat/completions '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"temperature":0,"logprobs":true,"top_logprobs":3}' "$TMP/lp.json" >/dev/null
python3 -c "
import json,sys,math; j=json.load(open(sys.argv[1])); c=j['choices'][0]['logprobs']['content']
assert len(c)==j['usage']['completion_tokens'] and all(len(e['top_logprobs'])==3 for e in c)
assert all(e['logprob']<=0 and abs(e['logprob']-e['top_logprobs'][0]['logprob'])<1e-6 for e in c)  # greedy: the top one
" "$TMP/lp.json" && ok "logprobs" || bad "logprobs: $(head -c 400 "$TMP/lp.json")"

# --- errors: OpenAI-style objects and the right status codes; the server stays up
check_error() {  # NAME EXPECTED_STATUS PATH BODY [curl args]
  local code
  code=$(post "$3" "$4" "$TMP/err.json" "${@:5}")
  if [ "$code" = "$2" ] && python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['error']; assert e['message'] and e['type']" "$TMP/err.json" 2>/dev/null; then
    ok "$1 -> $code: $(json_get "$TMP/err.json" "j['error']['message'][:90]")"
  else
    bad "$1: status $code (want $2): $(head -c 300 "$TMP/err.json")"
  fi
}
check_error "malformed JSON" 400 /v1/chat/completions '{"messages": [}'
check_error "not an object" 400 /v1/chat/completions '[1,2]'
check_error "missing messages" 400 /v1/chat/completions '{"model":"stories"}'
check_error "unknown field" 400 /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"tools":[]}'
check_error "bad temperature" 400 /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"temperature":7}'
check_error "n > 1" 400 /v1/completions '{"prompt":"x","n":2}'
check_error "invalid UTF-8" 400 /v1/completions "$(printf '{"prompt":"\xff\xfe"}')"
check_error "unknown model" 404 /v1/chat/completions '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}'
check_error "context overflow" 400 /v1/completions "{\"prompt\":\"$(printf 'once upon a time %.0s' $(seq 1 700))\"}"
check_error "max_tokens beyond context" 400 /v1/completions '{"prompt":"x","max_tokens":100000}'
check_error "token id outside vocabulary" 400 /v1/completions '{"prompt":[1,99999]}'
check_error "embeddings on a generator" 400 /v1/embeddings '{"input":"x"}'
head -c 5000000 /dev/zero | tr '\0' 'a' >"$TMP/big.txt"
code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TMP/big.txt" "$URL/v1/completions")
[ "$code" = 413 ] && ok "body over --max-body -> 413" || bad "huge body: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/nope")
[ "$code" = 404 ] && ok "unknown path -> 404" || bad "unknown path: $code"

# --- /metrics: valid Prometheus text, and the counters saw the traffic
curl -s "$URL/metrics" >"$TMP/metrics.txt"
if command -v promtool >/dev/null; then
  promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1 && ok "promtool check metrics" ||
    bad "promtool: $(head -20 "$TMP/promtool.txt")"
else
  bad "promtool not installed (scripts/setup installs prometheus)"
fi
for k in 'rightsize_requests_total{endpoint="/v1/chat/completions",model="stories",status="200"}' \
  'rightsize_time_to_first_token_seconds_count{model="stories"}' 'rightsize_inter_token_seconds_count{model="stories"}' \
  'rightsize_completion_tokens_total{model="stories"}' 'rightsize_kv_cache_capacity_tokens{model="stories"}' \
  'rightsize_requests_total{endpoint="/v1/chat/completions",model="gpt-9",status="404"}'; do
  v=$(awk -v k="$k" '$1 == k { print $2 }' "$TMP/metrics.txt")
  [ -n "$v" ] && [ "$v" != 0 ] && ok "metric $k = $v" || bad "metric $k missing"
done
grep -q '^rightsize_queue_depth{model="stories"} 0$' "$TMP/metrics.txt" && grep -q '^rightsize_active_sequences{model="stories"} 0$' "$TMP/metrics.txt" &&
  ok "queue and active gauges back to 0" || bad "gauges: $(grep -E 'queue_depth|active_seq' "$TMP/metrics.txt")"

# --- bench --server: levels in rounds, every token counted, the median per level
"$BIN" bench --server "$URL" --model-name stories --concurrency 1,3 -n 8 --requests-per-stream 2 \
  --rounds 2 --prompt-tokens 5 --json >"$TMP/bench.json" 2>"$TMP/bench.err"
python3 - "$TMP/bench.json" <<'PY' && ok "bench --server: 2 levels x 2 rounds, tokens and medians add up" || bad "bench --server: $(cat "$TMP/bench.json" "$TMP/bench.err")"
import json, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["rounds"] == 2, d
lv = d["levels"]
assert [l["streams"] for l in lv] == [1, 3], lv
for l in lv:
    assert l["failed"] == 0 and l["requests"] == l["streams"] * 2 * 2, l
    assert l["generated_tokens"] == l["requests"] * 8, l
    r = l["tokens_per_s_rounds"]
    assert len(r) == 2 and all(x > 0 for x in r), l
    assert abs(l["tokens_per_s"] - statistics.median(r)) < 1e-6, l
assert abs(lv[1]["speedup_vs_first"] - lv[1]["tokens_per_s"] / lv[0]["tokens_per_s"]) < 1e-6
PY

# --- a second server on the same port fails to bind (no SO_REUSEPORT sharing of connections)
port=${URL##*:}
"$BIN" serve -m "$M" --port "$port" -t 1 >"$TMP/second.log" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q "cannot listen on 127.0.0.1:$port" "$TMP/second.log" &&
  ok "port in use: second server exits $rc with a clear error" || bad "port in use: rc $rc, $(cat "$TMP/second.log")"

# --- graceful shutdown on SIGTERM
stop_server
[ "$SERVER_RC" = 0 ] && grep -q "serve: stopped" "$TMP/log" && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $SERVER_RC"

# --- embeddings with an encoder model (float and base64, like the openai client asks)
start_server "$TMP/log2" -m "$BERT" --name bert -t 1 || exit 1
code=$(post /v1/embeddings '{"model":"bert","input":["hello world","a second text"]}' "$TMP/e.json")
python3 -c "
import json,sys,math; j=json.load(open(sys.argv[1])); d=j['data']
assert len(d)==2 and d[1]['index']==1 and j['usage']['prompt_tokens']>0
for e in d: assert abs(math.sqrt(sum(x*x for x in e['embedding']))-1)<1e-4
" "$TMP/e.json" && [ "$code" = 200 ] && ok "embeddings (unit vectors)" || bad "embeddings: $code $(head -c 300 "$TMP/e.json")"
"$BIN" embed -m "$BERT" -p "hello world" --json >"$TMP/embed.json" 2>/dev/null
post /v1/embeddings '{"model":"bert","input":"hello world","encoding_format":"base64"}' "$TMP/e64.json" >/dev/null
python3 -c "
import json,sys,base64,struct; a=json.load(open(sys.argv[1]))['data'][0]['embedding']; b=json.load(open(sys.argv[2]))
v=list(struct.unpack('<%df'%(len(base64.b64decode(a))//4), base64.b64decode(a))); ref=b['embedding']
assert len(v)==len(ref) and max(abs(x-y) for x,y in zip(v,ref))<1e-6
" "$TMP/e64.json" "$TMP/embed.json" && ok "base64 embedding = rightsize embed" || bad "base64 embedding"
check_error "chat on an embedding model" 400 /v1/chat/completions '{"messages":[{"role":"user","content":"x"}]}'
stop_server

# --- API keys: with a key, /v1 needs it; without one, only loopback binds
start_server "$TMP/log3" -m "$M" --api-key sk-test -t 1 || exit 1
check_error "missing key" 401 /v1/models '{}'
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-test' "$URL/v1/models")
[ "$code" = 200 ] && ok "right key -> 200" || bad "right key: $code"
check_error "wrong key" 401 /v1/completions '{"prompt":"x"}' -H 'Authorization: Bearer nope'
stop_server
expect_error "remote bind without a key" serve -m "$M" --host 0.0.0.0 --port 0
expect_error "config with an unknown key" serve --config <(printf 'models:\n  - path: %s\n    colour: red\n' "$M")
expect_error "config with a bad kv_type" serve --config <(printf 'models:\n  - path: %s\n    kv_type: q8\n' "$M")
"$BIN" serve -m "$M" --kv-type q8 >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" != 0 ] && grep -q "kv-type: q8 not in {f16,f32}" "$TMP/err" && ok "--kv-type q8: usage error $rc" ||
  bad "--kv-type q8: rc $rc, $(cat "$TMP/err")"
finish
