#!/usr/bin/env bash
# End-to-end: the response cache and the PII guard in a real `rightsize serve` with a real
# upstream process (a second `rightsize serve` as the "large model", behind a recording proxy).
#   * a repeated request is answered from the cache: the upstream's request counter does not move
#   * paraphrases hit the semantic cache (with their similarity); tenants never share entries
#   * sampled requests and Cache-Control: no-cache bypass it; /admin/cache/invalidate removes
#   * the SQLite cache survives a restart and a kill -9 during a burst of writes
#   * two server processes share hits through a real redis-server on loopback
#   * e-mail, phone, card, IBAN and a configured national id never reach the upstream in clear
#     text; a pinned route never calls it; the decision log records kinds, never values
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
M="$SHARED/models/stories260K.gguf"
C="$SHARED/datasets/clinc150"
HERE="$(cd "$(dirname "$0")" && pwd)"

train_clinc5_router

start_server "$TMP/up.log" -m "$M" --name big --parallel 4 -t 1 || exit 1
UP_PID=$SERVER_PID
UP_URL=$URL
python3 "$HERE/fault_proxy.py" "$UP_URL" "$TMP/pport" &
PROXY_PID=$!
REDIS_PID=""
SERVER2_PID=""
trap 'kill $PROXY_PID $UP_PID $REDIS_PID $SERVER2_PID 2>/dev/null; stop_server; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/pport" ] && break; sleep 0.1; done
PROXY="http://127.0.0.1:$(cat "$TMP/pport")"

# write_config FILE CACHE_YAML
write_config() {
  cat >"$1" <<EOF
server:
  request_timeout_s: 60
models:
  - name: small
    path: $M
    parallel: 4
    threads: 1
    price_per_hour: 0.10
upstreams:
  - name: llm
    url: $PROXY/v1
    timeout_s: 30
    price_input_per_1m: 2.50
    price_output_per_1m: 10.00
router:
  name: auto
  classifier: $TMP/router.bin
  upstream: llm
  decision_log: $TMP/decisions.db
  routes:
    - name: travel
      intents: [translate, weather]
      model: small
      prompt_template: "Q: {text}\nA:"
      max_tokens: 8
    - name: clock
      intents: [timer]
      model: small
      max_tokens: 8
      pii: pin
    - name: banking
      intents: [balance, transfer]
      model: small
      max_tokens: 8
      cache: {enabled: false}
$2
pii:
  action: redact
  national_ids:
    - name: us_ssn
      regex: '\b\d{3}-\d{2}-\d{4}\b'
EOF
}
write_config "$TMP/sqlite.yaml" "cache:
  backend: sqlite
  path: $TMP/cache.db
  ttl_s: 3600
  similarity: 0.8"
start_server "$TMP/srv.log" --config "$TMP/sqlite.yaml" || exit 1

cat >"$TMP/client.py" <<'PY'
import json, sqlite3, sys, time, urllib.error, urllib.request
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1; print("ok:", what)
    else: failed += 1; print("FAIL:", what)

def call(base, path, body=None, headers=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read().decode()

def chat(base, text, tenant="acme", headers=None, **extra):
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], "temperature": 0, "max_tokens": 8}
    body.update(extra)
    return call(base, "/v1/chat/completions", body, {"x-rightsize-tenant": tenant, **(headers or {})})

def content(body):
    return json.loads(body)["choices"][0]["message"]["content"]

def forwarded(proxy):
    return json.loads(call(proxy, "/__stats")[2])["forwarded"]

def queries(tmp):
    rows = [json.loads(l) for l in open(f"{tmp}/test.jsonl")]
    preds = json.load(open(f"{tmp}/pred.json"))["predictions"]
    def pick(labels, n):
        return [r["text"] for r, p in zip(rows, preds) if r["label"] in labels and p["label"] == r["label"]][:n]
    return {"travel": pick({"translate", "weather"}, 30), "clock": pick({"timer"}, 3),
            "banking": pick({"balance", "transfer"}, 2), "oos": pick({"oos"}, 12),
            "burst": [f"{r['text']} #{i}" for i, r in enumerate(rows[:240])]}
PY

python3 - "$URL" "$PROXY" "$TMP" <<'PY'
import sys; sys.path.insert(0, sys.argv[3]); from client import *
url, proxy, tmp = sys.argv[1:4]
q = queries(tmp)
check(len(q["travel"]) == 30 and len(q["oos"]) == 12 and len(q["clock"]) == 3, "test queries picked")

# Repeats: escalated (oos) and local (travel) answers come back from the cache; the upstream's
# counter proves the LLM was not called again.
text = q["oos"][0]
n0 = forwarded(proxy)
c1, h1, b1 = chat(url, text)
n1 = forwarded(proxy)
c2, h2, b2 = chat(url, text)
n2 = forwarded(proxy)
check(c1 == 200 and h1.get("x-rightsize-cache") == "miss" and n1 == n0 + 1, f"first oos request: miss, upstream called ({h1.get('x-rightsize-cache')}, {n1 - n0})")
check(c2 == 200 and h2.get("x-rightsize-cache") == "hit-exact" and n2 == n1, f"repeat: hit-exact, upstream not called ({h2.get('x-rightsize-cache')}, {n2 - n1})")
check(c2 == 200 and content(b2) == content(b1) and h2.get("x-rightsize-route") == "llm", "the hit returns the same answer and route")
check(float(h2.get("x-rightsize-cost-usd", "1")) == 0 and float(h2.get("x-rightsize-baseline-usd", "0")) > 0, "a hit costs 0 and keeps its baseline")
c3, h3, b3 = chat(url, "  " + text.replace(" ", "   ") + "\n")
check(h3.get("x-rightsize-cache") == "hit-exact", "whitespace-normalised repeat: hit-exact")
c, h, b = chat(url, text, stream=True)
check(c == 200 and h.get("x-rightsize-cache") == "hit-exact" and content(b1) in "".join(
    json.loads(l[6:])["choices"][0]["delta"].get("content", "") for l in b.splitlines()
    if l.startswith("data: {") and json.loads(l[6:])["choices"]) and b.rstrip().endswith("[DONE]"),
      "a streamed repeat replays the cached answer as SSE")
key = h2.get("x-rightsize-cache-key", "")
check(len(key) == 64, "x-rightsize-cache-key names the entry")

t = q["travel"][0]
ca, ha, ba = chat(url, t)
cb, hb, bb = chat(url, t)
check(ha.get("x-rightsize-route") == "travel" and ha.get("x-rightsize-cache") == "miss" and hb.get("x-rightsize-cache") == "hit-exact"
      and content(ba) == content(bb), "local route: miss then hit-exact with the same answer")

# Tenants: the same request for another tenant is a miss (and reaches the upstream).
n0 = forwarded(proxy)
c, h, b = chat(url, text, tenant="globex")
check(h.get("x-rightsize-cache") == "miss" and forwarded(proxy) == n0 + 1, "another tenant: miss, upstream called")
c, h, b = chat(url, text, tenant="globex")
check(h.get("x-rightsize-cache") == "hit-exact", "that tenant's own repeat: hit")

# Semantic: a paraphrase (same words, different case and punctuation) within the tenant.
para = text.upper().rstrip("?.!") + "!!"
n0 = forwarded(proxy)
c, h, b = chat(url, para)
sim = float(h.get("x-rightsize-cache-similarity", "0"))
check(h.get("x-rightsize-cache") == "hit-semantic" and 0.8 <= sim <= 1.0001 and forwarded(proxy) == n0,
      f"paraphrase: hit-semantic, similarity {sim}")
c, h, b = chat(url, para, tenant="initech")
check(h.get("x-rightsize-cache") == "miss", "the paraphrase for a third tenant: miss (scoped per tenant)")
# Conversation-aware: the same last message after other turns is not the same request.
c, h, b = call(url, "/v1/chat/completions", {"model": "auto", "temperature": 0, "max_tokens": 8, "messages": [
    {"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}, {"role": "user", "content": text}]},
    {"x-rightsize-tenant": "acme"})
check(h.get("x-rightsize-cache") == "miss", "same last message after prior turns: miss")

# Bypass: sampled requests, Cache-Control: no-cache; a route with the cache disabled.
c, h, b = chat(url, text, temperature=0.9)
check(h.get("x-rightsize-cache") == "bypass", "temperature 0.9 without a seed: bypass")
c, h, b = chat(url, text, temperature=0.9, seed=7)
c2, h2, b2 = chat(url, text, temperature=0.9, seed=7)
check(h.get("x-rightsize-cache") == "miss" and h2.get("x-rightsize-cache") == "hit-exact", "temperature 0.9 with a fixed seed: cached")
c, h, b = chat(url, text, headers={"Cache-Control": "no-cache"})
check(h.get("x-rightsize-cache") == "bypass", "Cache-Control: no-cache: bypass")
bk = q["banking"][0]
chat(url, bk)
c, h, b = chat(url, bk)
check(h.get("x-rightsize-route") == "banking" and h.get("x-rightsize-cache") == "bypass", "route with cache.enabled false: bypass")

# Admin invalidation.
c, h, b = call(url, "/admin/cache/invalidate", {"key": key})
check(c == 200 and json.loads(b)["removed"] == 1, f"invalidate by key: {b}")
c, h, b = chat(url, text)
check(h.get("x-rightsize-cache") == "miss", "after invalidation: miss")
c, h, b = call(url, "/admin/cache/invalidate", {"tenant": "globex"})
check(c == 200 and json.loads(b)["removed"] >= 1, f"invalidate by tenant: {b}")
c, h, b = chat(url, text, tenant="globex")
check(h.get("x-rightsize-cache") == "miss", "that tenant's entry is gone")
c, h, b = chat(url, t)
check(h.get("x-rightsize-cache") == "hit-exact", "other entries stay")
c, h, b = call(url, "/admin/cache/invalidate", {"route": "travel"})
check(c == 200 and json.loads(b)["removed"] >= 1, f"invalidate by route: {b}")
for bad_body in ({}, {"colour": "red"}, {"route": 3}):
    c, h, b = call(url, "/admin/cache/invalidate", bad_body)
    check(c == 400 and "error" in json.loads(b), f"invalidate {bad_body}: 400")
c, h, b = call(url, "/admin/cache/stats")
check(c == 200 and json.loads(b)["backend"] == "sqlite" and json.loads(b)["entries"] > 0, f"stats: {b}")

# PII: every kind escalated (x-rightsize-escalate) and redacted in what the upstream received.
values = {"email": "jane.doe@example.com", "phone": "+44 20 7946 0958", "card": "4111 1111 1111 1111",
          "iban": "DE89 3704 0044 0532 0130 00", "us_ssn": "078-05-1120"}
before = len(json.loads(call(proxy, "/__received")[2]))
for kind, v in values.items():
    c, h, b = chat(url, f"please check this for me: {v} thanks", headers={"x-rightsize-escalate": "1"}, user=v)
    check(c == 200 and h.get("x-rightsize-route") == "llm" and kind in h.get("x-rightsize-pii", "")
          and h.get("x-rightsize-pii", "").startswith("redacted"), f"{kind}: escalated, redacted ({h.get('x-rightsize-pii')})")
sent = json.loads(call(proxy, "/__received")[2])[before:]
check(len(sent) == len(values), f"the upstream received {len(sent)} requests")
leaks = [v for v in values.values() for s in sent if v in s or v.replace(" ", "") in s]
check(not leaks, f"no clear-text value reached the upstream (leaks: {leaks})")
check(all("[" in s and "_1]" in s for s in sent), "the upstream saw placeholders instead")
c, h, b = chat(url, f"write to {values['email']} please", headers={"x-rightsize-escalate": "1"}, stream=True)
sent = json.loads(call(proxy, "/__received")[2])
check(c == 200 and values["email"] not in sent[-1] and b.rstrip().endswith("[DONE]"), "a streamed escalation is redacted too")
# A pinned route never calls the upstream, even when the client asks for escalation.
n0 = forwarded(proxy)
c, h, b = chat(url, q["clock"][0] + " and mail me at jane.doe@example.com", headers={"x-rightsize-escalate": "1"})
check(c == 200 and h.get("x-rightsize-route") == "clock" and h.get("x-rightsize-reason") == "pii_pinned"
      and forwarded(proxy) == n0, f"pinned route answered locally ({h.get('x-rightsize-route')}, {h.get('x-rightsize-reason')})")
c, h, b = chat(url, q["clock"][0], headers={"x-rightsize-escalate": "1"})
check(c == 200 and h.get("x-rightsize-route") == "llm" and forwarded(proxy) == n0 + 1, "without personal data the same route escalates")
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] && ok "cache, tenants, bypass, invalidation, PII (sqlite)" || bad "cache, tenants, bypass, invalidation, PII (sqlite)"

curl -s "$URL/metrics" >"$TMP/metrics.txt"
grep -q 'rightsize_cache_requests_total{result="hit-exact"' "$TMP/metrics.txt" && ok "metrics count cache hits" || bad "no cache hits in /metrics"
grep -q 'rightsize_pii_detections_total{kind="card",action="redact"}' "$TMP/metrics.txt" && ok "metrics count PII detections" ||
  bad "no PII detections in /metrics: $(grep pii "$TMP/metrics.txt" | head -3)"
if command -v promtool >/dev/null; then
  promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 && ok "promtool check metrics" ||
    bad "promtool: $(head -5 "$TMP/promtool.out")"
fi

# --- restart: the SQLite cache keeps its entries
python3 - "$URL" "$TMP" <<'PY' >"$TMP/pre_restart.json"
import sys; sys.path.insert(0, sys.argv[2]); from client import *
q = queries(sys.argv[2])
c, h, b = chat(sys.argv[1], q["oos"][5])
print(json.dumps({"text": q["oos"][5], "answer": content(b), "cache": h.get("x-rightsize-cache")}))
PY
stop_server
for kind in jane.doe@example.com 4111111111111111 "4111 1111 1111 1111" 078-05-1120; do
  if grep -aq -- "$kind" "$TMP/decisions.db" "$TMP/decisions.db-wal" 2>/dev/null; then bad "decision log holds '$kind'"; else ok "decision log has no '$kind'"; fi
done
python3 - "$TMP/decisions.db" <<'PY' && ok "decision log records cache outcomes and PII kinds" || bad "decision log columns"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
caches = {r[0] for r in db.execute("SELECT cache FROM decisions")}
piis = [r[0] for r in db.execute("SELECT pii FROM decisions WHERE pii != ''")]
sims = [r[0] for r in db.execute("SELECT similarity FROM decisions WHERE cache = 'hit-semantic'")]
print(caches, piis[:3], sims)
assert {"miss", "hit-exact", "hit-semantic", "bypass"} <= caches
assert any("card=1" in p for p in piis) and any(p.startswith("pinned") for p in piis)
assert sims and all(0.8 <= s <= 1.0001 for s in sims)
PY
start_server "$TMP/srv2.log" --config "$TMP/sqlite.yaml" || exit 1
python3 - "$URL" "$PROXY" "$TMP" <<'PY' && ok "restart keeps the SQLite cache" || bad "restart keeps the SQLite cache"
import sys; sys.path.insert(0, sys.argv[3]); from client import *
url, proxy, tmp = sys.argv[1:4]
pre = json.load(open(f"{tmp}/pre_restart.json"))
n0 = forwarded(proxy)
c, h, b = chat(url, pre["text"])
print(h.get("x-rightsize-cache"), forwarded(proxy) - n0)
assert c == 200 and h.get("x-rightsize-cache") == "hit-exact" and content(b) == pre["answer"] and forwarded(proxy) == n0
PY

# --- kill -9 during a burst of writes: the file opens and answers correctly afterwards
python3 - "$URL" "$TMP" <<'PY' >"$TMP/burst.json" &
import sys, threading; sys.path.insert(0, sys.argv[2]); from client import *
url = sys.argv[1]
q = queries(sys.argv[2])
done, lock = {}, threading.Lock()
def one(t):
    try:
        c, h, b = chat(url, t)
        if c == 200:
            with lock: done[t] = content(b)
    except Exception:
        pass
def worker(k):
    for t in q["burst"][k::6]:
        one(t)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
for th in threads: th.start()
for th in threads: th.join()
print(json.dumps(done))
PY
BURST_PID=$!
entries() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from cache_entries').fetchone()[0])" "$TMP/cache.db" 2>/dev/null || echo 0; }
n0=$(entries)
for _ in $(seq 200); do  # kill once a few of the burst's answers are written, mid-burst
  [ "$(entries)" -ge $((n0 + 20)) ] && break
  sleep 0.02
done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
wait $BURST_PID
start_server "$TMP/srv3.log" --config "$TMP/sqlite.yaml" || { bad "the cache did not open after kill -9: $(tail -3 "$TMP/srv3.log")"; finish; exit 1; }
python3 - "$URL" "$TMP" <<'PY' && ok "after kill -9 the cache opens and answers correctly" || bad "after kill -9"
import sys; sys.path.insert(0, sys.argv[2]); from client import *
url, tmp = sys.argv[1:3]
done = json.load(open(f"{tmp}/burst.json"))
q = queries(tmp)
hits = misses = 0
for t in q["burst"]:
    c, h, b = chat(url, t)
    assert c == 200, (c, b)
    if h.get("x-rightsize-cache") == "hit-exact":
        hits += 1
        if t in done:
            assert content(b) == done[t], "a hit must be the answer given before the crash"
        else:  # stored, then killed before the answer went out: it must still be the right one
            c2, h2, b2 = chat(url, t, headers={"Cache-Control": "no-cache"})
            assert content(b) == content(b2), "a hit must be what the model answers"
    else:
        misses += 1
print(f"answered before the kill: {len(done)} of {len(q['burst'])}, hits after restart: {hits}, misses: {misses}")
assert hits >= 1 and len(done) < len(q["burst"]), "the kill must land mid-burst"
PY
stop_server

# --- Redis: two server processes share hits
if ! command -v redis-server >/dev/null; then
  echo "SKIP: redis-server not installed (apt-get install redis-server): the shared-cache part"
else
  RPORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  write_config "$TMP/redis.yaml" "cache:
  backend: redis
  redis_url: redis://127.0.0.1:$RPORT/0
  similarity: 0.8"
  sed -i "s#decision_log: .*#decision_log: $TMP/decisions_a.db#" "$TMP/redis.yaml"
  sed "s#decision_log: .*#decision_log: $TMP/decisions_b.db#" "$TMP/redis.yaml" >"$TMP/redis_b.yaml"
  start_server "$TMP/ra.log" --config "$TMP/redis.yaml" || exit 1
  URL_A=$URL
  A_PID=$SERVER_PID
  start_server "$TMP/rb.log" --config "$TMP/redis_b.yaml" || exit 1
  URL_B=$URL
  SERVER2_PID=$A_PID
  python3 - "$URL_A" "$URL_B" "$PROXY" "$TMP" <<'PY' && ok "two servers share hits through redis" || bad "two servers share hits through redis"
import sys; sys.path.insert(0, sys.argv[4]); from client import *
a, b_url, proxy, tmp = sys.argv[1:5]
q = queries(tmp)
text = q["oos"][8]
n0 = forwarded(proxy)
c, h, b = chat(a, text)
n1 = forwarded(proxy)
c2, h2, b2 = chat(b_url, text)
n2 = forwarded(proxy)
print(h.get("x-rightsize-cache"), h2.get("x-rightsize-cache"), n1 - n0, n2 - n1)
assert h.get("x-rightsize-cache") == "miss" and n1 == n0 + 1
assert h2.get("x-rightsize-cache") == "hit-exact" and n2 == n1 and content(b2) == content(b)
c3, h3, b3 = chat(b_url, text.upper() + "!!")
print("paraphrase on the other replica:", h3.get("x-rightsize-cache"), h3.get("x-rightsize-cache-similarity"))
assert h3.get("x-rightsize-cache") == "hit-semantic"
c4, h4, b4 = chat(b_url, text, tenant="globex")
assert h4.get("x-rightsize-cache") == "miss"
c, h, b = call(a, "/admin/cache/invalidate", {"route": "llm"})
assert c == 200 and json.loads(b)["removed"] >= 2, b
c5, h5, b5 = chat(b_url, text)
assert h5.get("x-rightsize-cache") == "miss", "invalidated on one replica: gone for both"
PY
  kill "$SERVER2_PID" 2>/dev/null
  wait "$SERVER2_PID" 2>/dev/null
  SERVER2_PID=""
  stop_server
  # The back end going away mid-run: requests still succeed (as misses), the error is counted.
  start_server "$TMP/rc.log" --config "$TMP/redis.yaml" || exit 1
  kill "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null
  REDIS_PID=""
  code=$(post /v1/chat/completions '{"model":"auto","temperature":0,"max_tokens":4,"messages":[{"role":"user","content":"what is the weather in paris"}]}' "$TMP/r.json")
  [ "$code" = 200 ] && ok "redis down: the request is still answered" || bad "redis down: HTTP $code $(cat "$TMP/r.json")"
  [ -n "$(metric 'rightsize_cache_errors_total{op="get"}')" ] && ok "redis down: cache errors counted" || bad "redis down: no cache error metric"
  stop_server
fi

# --- semantic look-ups with a served embedding model (cache.embedder) instead of the router's vector
write_config "$TMP/emb.yaml" "cache:
  backend: memory
  similarity: 0.5
  embedder: emb"
sed -i "s#^models:#models:\n  - name: emb\n    path: $SHARED/oracle/models/bert-f32.gguf#" "$TMP/emb.yaml"
start_server "$TMP/emb.log" --config "$TMP/emb.yaml" || exit 1
python3 - "$URL" "$TMP" <<'PY' && ok "semantic hits with cache.embedder (a bert model)" || bad "semantic hits with cache.embedder"
import sys; sys.path.insert(0, sys.argv[2]); from client import *
url = sys.argv[1]
q = queries(sys.argv[2])
text = q["oos"][3]
c, h, b = chat(url, text)
c2, h2, b2 = chat(url, text + " please")
print(h.get("x-rightsize-cache"), h2.get("x-rightsize-cache"), h2.get("x-rightsize-cache-similarity"))
assert h.get("x-rightsize-cache") == "miss" and h2.get("x-rightsize-cache") == "hit-semantic"
assert content(b2) == content(b)
PY
stop_server

# --- configuration errors are clear: exit 1 and a last line that says what to fix
# serve_error NAME CONFIG PATTERN
serve_error() {
  "$BIN" serve --port 0 --config "$2" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq 1 ] && tail -1 "$TMP/err" | grep -q "^error: .*$3"; then
    ok "$1: $(tail -1 "$TMP/err")"
  else
    bad "$1: exit $rc, $(tail -2 "$TMP/err")"
  fi
}
write_config "$TMP/bad.yaml" "cache:
  backend: memcached"
serve_error "unknown cache backend" "$TMP/bad.yaml" "memory, sqlite or redis"
write_config "$TMP/bad2.yaml" "cache:
  backend: redis
  redis_url: redis://127.0.0.1:1/0"
serve_error "unreachable redis" "$TMP/bad2.yaml" "is redis-server running"
echo "not a database" >"$TMP/garbage.db"
write_config "$TMP/bad3.yaml" "cache:
  backend: sqlite
  path: $TMP/garbage.db"
serve_error "corrupt cache file" "$TMP/bad3.yaml" "delete it"
write_config "$TMP/bad4.yaml" "cache:
  backend: sqlite
  path: /nonexistent-folder/cache.db"
serve_error "cache in a missing folder" "$TMP/bad4.yaml" "folder exists"
write_config "$TMP/bad5.yaml" ""
sed -i "s#regex: .*#regex: '(unclosed'#" "$TMP/bad5.yaml"
serve_error "bad national id regex" "$TMP/bad5.yaml" "us_ssn"
finish
