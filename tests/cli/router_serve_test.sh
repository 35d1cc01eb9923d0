#!/usr/bin/env bash
# End-to-end: the router in a real `rightsize serve`, escalating to a real upstream process (a
# second `rightsize serve` as the "large model", behind a fault-injecting proxy). A mixed stream:
# in-scope requests answered by local specialists, out-of-scope, client-escalated and
# failed-validation requests escalated; the ledger's totals equal the sum of the per-request
# costs (headers, /v1/ledger, /metrics, the SQLite decision log); upstream faults (500s, 429,
# resets, a slow upstream past the timeout, an outage) survived by retries or the local fallback;
# a tenant budget stops escalation.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
M="$SHARED/models/stories260K.gguf"
QV="$SHARED/models/lora/stories260K-synthetic-qv-r4"
C="$SHARED/datasets/clinc150"
HERE="$(cd "$(dirname "$0")" && pwd)"

# --- a router over five CLINC150 intents + oos (train/validation splits only)
train_clinc5_router

# --- the "large model": a real server, behind the fault proxy
start_server "$TMP/up.log" -m "$M" --name big --parallel 4 -t 1 || exit 1
UP_PID=$SERVER_PID
UP_URL=$URL
python3 "$HERE/fault_proxy.py" "$UP_URL" "$TMP/pport" &
PROXY_PID=$!
trap 'kill $PROXY_PID $UP_PID 2>/dev/null; stop_server; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/pport" ] && break; sleep 0.1; done
PROXY="http://127.0.0.1:$(cat "$TMP/pport")"

cat >"$TMP/router.yaml" <<EOF
server:
  request_timeout_s: 60
models:
  - name: small
    path: $M
    parallel: 4
    threads: 1
    price_per_hour: 0.10
    adapters:
      - name: qv
        path: $QV
upstreams:
  - name: llm
    url: $PROXY/v1
    timeout_s: 2
    max_retries: 2
    backoff_initial_s: 0.05
    backoff_max_s: 0.2
    breaker_failures: 1000
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
      max_tokens: 12
    - name: clock
      intents: [timer]
      model: small:qv
      max_tokens: 12
    - name: banking
      intents: [balance, transfer]
      model: small
      prompt_template: "Request: {text}\nDecision (approve or deny):"
      labels: [approve, deny]
      max_tokens: 4
  budgets:
    - tenant: tiny
      upstream_usd: 0.000000001
EOF
SERVER_PID=""
start_server "$TMP/srv.log" --config "$TMP/router.yaml" || exit 1

python3 - "$URL" "$PROXY" "$TMP" <<'PY'
import json, sqlite3, sys, time, urllib.error, urllib.request
url, proxy, tmp = sys.argv[1:4]
passed = failed = 0
def check(cond, what):
    global passed, failed
    if cond: passed += 1; print("ok:", what)
    else: failed += 1; print("FAIL:", what)

def call(path, body=None, headers=None, base=None):
    req = urllib.request.Request((base or url) + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read().decode()

def chat(text, headers=None, **extra):
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], "temperature": 0, "max_tokens": 12}
    body.update(extra)
    return call("/v1/chat/completions", body, headers)

def upstream_stats():
    return json.loads(call("/__stats", base=proxy)[2])

def fault(mode, count=1, seconds=0):
    call("/__fault", {"mode": mode, "count": count, "seconds": seconds}, base=proxy)

# Test queries whose intent the classifier gets right (routing is tested here, not accuracy).
rows = [json.loads(l) for l in open(f"{tmp}/test.jsonl")]
preds = json.load(open(f"{tmp}/pred.json"))["predictions"]
def pick(labels, n):
    return [r["text"] for r, p in zip(rows, preds) if r["label"] in labels and p["label"] == r["label"]][:n]
travel, clock, banking, oos = pick({"translate", "weather"}, 4), pick({"timer"}, 2), pick({"balance", "transfer"}, 3), pick({"oos"}, 3)
check(len(travel) == 4 and len(clock) == 2 and len(banking) == 3 and len(oos) == 3, "test queries picked")

costs, baselines = [], []
def routed(text, route, reason, escalated, headers=None):
    before = upstream_stats()["forwarded"]
    code, h, body = chat(text, headers)
    after = upstream_stats()["forwarded"]
    ok = code == 200 and h.get("x-rightsize-route") == route and h.get("x-rightsize-reason") == reason
    ok = ok and (after > before) == escalated
    check(ok, f"{text[:40]!r} -> {h.get('x-rightsize-route')} ({h.get('x-rightsize-reason')}), upstream calls {after - before}")
    if code == 200:
        costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))
    return code, h, json.loads(body) if body.strip().startswith("{") else body

# --- the mixed stream
for t in travel:
    code, h, b = routed(t, "travel", "intent", False)
    # The specialist is the real local model: the same prompt sent to it directly answers the same.
    c2, _, b2 = call("/v1/completions", {"model": "small", "prompt": f"Q: {t}\nA:", "max_tokens": 12, "temperature": 0})
    check(code == 200 and b["choices"][0]["message"]["content"] == json.loads(b2)["choices"][0]["text"],
          "travel answer = small with the route's template")
for t in clock:
    code, h, b = routed(t, "clock", "intent", False)
    c2, _, b2 = call("/v1/chat/completions", {"model": "small:qv", "messages": [{"role": "user", "content": t}], "max_tokens": 12, "temperature": 0})
    check(b["choices"][0]["message"]["content"] == json.loads(b2)["choices"][0]["message"]["content"] and b["model"] == "small:qv",
          "clock answer = small:qv (the adapter) on the chat messages")
for t in banking:
    code, h, b = routed(t, "llm", "invalid_answer", True)
    check(float(h.get("x-rightsize-cost-usd", 0)) > float(h.get("x-rightsize-baseline-usd", 1)) and b.get("model") == "big",
          "failed validation: answered by the upstream, cost = local try + upstream")
for t in oos:
    routed(t, "llm", "out_of_scope", True)
routed(travel[0], "llm", "client_header", True, {"x-rightsize-escalate": "1"})

# Streaming through the router: the same answer as SSE.
code, h, body = chat(travel[0], stream=True)
content = "".join(json.loads(l[6:])["choices"][0]["delta"].get("content", "")
                  for l in body.split("\n") if l.startswith("data: {") and json.loads(l[6:])["choices"])
_, h2, plain = chat(travel[0])
costs.append(float(h2["x-rightsize-cost-usd"])); baselines.append(float(h2["x-rightsize-baseline-usd"]))
check(code == 200 and body.rstrip().endswith("data: [DONE]") and content == json.loads(plain)["choices"][0]["message"]["content"],
      "streamed routed answer = non-streamed")
costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))
_, h, _ = chat(travel[0]); costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))

# Streaming an escalated request: the upstream's chunks pass through as they come.
led0 = json.loads(call("/v1/ledger")[2])["total"]
code, h, body = chat(oos[2], stream=True, stream_options={"include_usage": True})
chunks = [json.loads(l[6:]) for l in body.split("\n") if l.startswith("data: {")]
content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
_, h2, plain = chat(oos[2])
costs.append(float(h2["x-rightsize-cost-usd"])); baselines.append(float(h2["x-rightsize-baseline-usd"]))
time.sleep(0.2)
led1 = json.loads(call("/v1/ledger")[2])["total"]
d_cost = led1["cost_usd"] - led0["cost_usd"] - costs[-1]
check(code == 200 and h.get("x-rightsize-route") == "llm" and len(chunks) > 3 and chunks[-1].get("usage") and
      content == json.loads(plain)["choices"][0]["message"]["content"] and body.rstrip().endswith("data: [DONE]"),
      f"streamed escalation passes the upstream's {len(chunks)} chunks through")
check(led1["requests"] - led0["requests"] == 2 and d_cost > 0, "the streamed escalation is in the ledger")
costs.append(d_cost); baselines.append(d_cost)

# --- upstream faults
for mode, n, secs, what in [("status500", 2, 0, "two HTTP 500s"), ("status429", 1, 0, "a 429"),
                            ("reset", 1, 0, "a connection reset"), ("delay", 1, 3, "a response slower than the timeout")]:
    fault(mode, n, secs)
    f0 = upstream_stats()["faults"]
    code, h, b = chat(oos[0])
    check(code == 200 and h.get("x-rightsize-route") == "llm" and upstream_stats()["faults"] - f0 == n,
          f"survives {what} (retried): {code}")
    if code == 200: costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))
fault("status500", -1)
code, h, b = chat(oos[0])
check(code == 502 and "upstream" in b, f"upstream down, nothing local for oos: 502 ({code})")
code, h, b = chat(banking[0])
check(code == 200 and h.get("x-rightsize-route") == "banking" and h.get("x-rightsize-reason") == "upstream_failed",
      f"upstream down: failed-validation request falls back to the local answer ({code} {h.get('x-rightsize-reason')})")
if code == 200: costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))
fault("none", 0)

# --- tenant budget: the first escalation spends it, the next is refused
t = {"x-rightsize-tenant": "tiny"}
code, h, _ = chat(oos[1], t); check(code == 200 and h.get("x-rightsize-route") == "llm", "tenant tiny: first escalation")
costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))
code, h, b = chat(oos[1], t)
check(code == 429 and "budget_exceeded" in b, f"tenant tiny over budget, oos: 429 ({code})")
code, h, b = chat(banking[1], t)
check(code == 200 and h.get("x-rightsize-reason") == "budget_exhausted", "tenant tiny over budget: local answer kept")
costs.append(float(h["x-rightsize-cost-usd"])); baselines.append(float(h["x-rightsize-baseline-usd"]))

# --- the ledger equals the sum of the per-request costs
led = json.loads(call("/v1/ledger")[2])
tot = led["total"]
check(tot["requests"] == len(costs), f"ledger counts {tot['requests']} requests = {len(costs)} answered")
check(abs(tot["cost_usd"] - sum(costs)) <= 1e-12 + 1e-9 * sum(costs), f"ledger cost {tot['cost_usd']:.9g} = sum of headers {sum(costs):.9g}")
check(abs(tot["baseline_usd"] - sum(baselines)) <= 1e-12 + 1e-9 * sum(baselines), f"ledger baseline {tot['baseline_usd']:.9g} = sum {sum(baselines):.9g}")
check(abs(sum(r["cost_usd"] for r in led["routes"].values()) - tot["cost_usd"]) < 1e-12 and
      abs(sum(r["cost_usd"] for r in led["tenants"].values()) - tot["cost_usd"]) < 1e-12, "per-route and per-tenant totals add up")
check(tot["savings_usd"] > 0 and tot["local"] > 0 and tot["escalated"] > 0, f"saving {tot['savings_usd']:.9g} USD, {tot['local']} local / {tot['escalated']} escalated")
metrics = call("/metrics")[2]
mcost = sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith("rightsize_cost_usd_total{"))
check(abs(mcost - tot["cost_usd"]) <= 1e-9 * max(tot["cost_usd"], 1e-12) + 1e-15, f"/metrics cost total {mcost:.9g}")
open(f"{tmp}/metrics.txt", "w").write(metrics)

# --- the decision log (SQLite) explains every decision, and never holds the text
time.sleep(0.5)
db = sqlite3.connect(f"{tmp}/decisions.db")
n, s = db.execute("SELECT count(*), sum(cost_usd) FROM decisions WHERE status = 200").fetchone()
check(n == len(costs) and abs(s - tot["cost_usd"]) <= 1e-9 * tot["cost_usd"], f"decision log: {n} answered rows, cost {s:.9g}")
reasons = dict(db.execute("SELECT reason, count(*) FROM decisions GROUP BY reason").fetchall())
check(reasons.get("out_of_scope", 0) >= 3 and reasons.get("invalid_answer", 0) == 3 and reasons.get("intent", 0) >= 6 and "" not in reasons, f"reasons logged: {reasons}")
blob = " ".join(str(v) for row in db.execute("SELECT * FROM decisions") for v in row)
check(all(q not in blob for q in travel + oos), "no request text in the decision log")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $rc = 0 ] && ok "router stream" || bad "router stream"
if command -v promtool >/dev/null; then
  promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 && ok "promtool check metrics" ||
    bad "promtool: $(head -5 "$TMP/promtool.out")"
fi

# --- config errors name the problem
sed 's/model: small:qv/model: small:nope/' "$TMP/router.yaml" >"$TMP/bad1.yaml"
"$BIN" serve --config "$TMP/bad1.yaml" --port 0 >/dev/null 2>"$TMP/err"
[ $? = 1 ] && grep -q "no adapter 'nope'" "$TMP/err" && ok "route with an unknown adapter: error" || bad "bad1: $(tail -2 "$TMP/err")"
sed 's/upstream: llm/upstream: nope/' "$TMP/router.yaml" >"$TMP/bad2.yaml"
expect_error "router with an unknown upstream" serve --config "$TMP/bad2.yaml" --port 0
sed 's/intents: \[timer\]/intents: [timer, weather]/' "$TMP/router.yaml" >"$TMP/bad3.yaml"
expect_error "intent in two routes" serve --config "$TMP/bad3.yaml" --port 0
printf 'not a router file' >"$TMP/corrupt.bin"
sed "s#classifier: .*#classifier: $TMP/corrupt.bin#" "$TMP/router.yaml" >"$TMP/bad4.yaml"
"$BIN" serve --config "$TMP/bad4.yaml" --port 0 >/dev/null 2>"$TMP/err"
[ $? = 1 ] && [ "$(grep -c '^error: ' "$TMP/err")" = 1 ] && ok "corrupt router file: $(tail -1 "$TMP/err")" ||
  bad "corrupt router: $(tail -2 "$TMP/err")"
stop_server
finish
