#!/usr/bin/env bash
# rightsize route-eval on RouteLLM's MMLU correctness data: every figure it prints recomputed
# here from its per-query scores with the paper's definitions (PGR, APGR, CPT), the router beating
# the spread of random routers, and one-line errors for bad input.
source "$(dirname "$0")/lib.bash"
DATA="$SHARED/datasets/routellm_mmlu"
[ -f "$DATA/train.jsonl" ] && [ -f "$DATA/test.jsonl" ] || { echo "SKIP: routellm_mmlu absent"; exit 77; }

"$BIN" route-eval --data "$DATA" --json --scores-out "$TMP/scores.txt" >"$TMP/r.json" 2>"$TMP/err" ||
  bad "route-eval: $(cat "$TMP/err")"
python3 - "$TMP/r.json" "$TMP/scores.txt" "$DATA/test.jsonl" <<'PY' && ok "APGR, CPT(50%), CPT(80%) and the curve recomputed from the scores" || bad "route-eval numbers: $(head -c 800 "$TMP/r.json")"
import json, sys
j = json.load(open(sys.argv[1]))
s = [float(x) for x in open(sys.argv[2])]
rows = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
n = len(rows)
assert len(s) == n == j["n_test"] == 7021
ws = sum(r["small_correct"] for r in rows) / n
wl = sum(r["large_correct"] for r in rows) / n
assert abs(j["small_accuracy"] - ws) < 1e-12 and abs(j["large_accuracy"] - wl) < 1e-12
# Threshold sweep: highest scores go to the large model first; ties cross together.
order = sorted(range(n), key=lambda i: -s[i])
pts, correct, i = [(0.0, 0.0)], sum(r["small_correct"] for r in rows), 0
while i < n:
    k = i
    while k < n and s[order[k]] == s[order[i]]:
        r = rows[order[k]]; correct += r["large_correct"] - r["small_correct"]; k += 1
    pts.append((k / n, (correct / n - ws) / (wl - ws))); i = k
apgr = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(pts, pts[1:]))
def cpt(x):
    for a, b in zip(pts, pts[1:]):
        if b[1] >= x:
            return a[0] + (x - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
def pgr_at(c):
    for a, b in zip(pts, pts[1:]):
        if c <= b[0]:
            return b[1] if b[0] == a[0] else a[1] + (c - a[0]) / (b[0] - a[0]) * (b[1] - a[1])
m = j["router_metrics"]
assert abs(m["apgr"] - apgr) < 1e-9, (m["apgr"], apgr)
assert abs(m["cpt50"] - cpt(0.5)) < 1e-9 and abs(m["cpt80"] - cpt(0.8)) < 1e-9, (m, cpt(0.5), cpt(0.8))
for p in j["curve"]:
    assert abs(p["router_pgr"] - pgr_at(p["call_fraction"])) < 1e-9
    assert abs(p["random_pgr"] - p["call_fraction"]) < 1e-12
print(f"APGR {apgr:.4f} CPT50 {cpt(0.5):.4f} CPT80 {cpt(0.8):.4f}", file=sys.stderr)
PY
python3 - "$TMP/r.json" <<'PY' && ok "router beats 97.5% of random routers on APGR and both CPTs" || bad "router no better than random: $(head -c 1500 "$TMP/r.json")"
import json, sys
j = json.load(open(sys.argv[1])); m = j["router_metrics"]; r = j["random_simulated"]
assert abs(r["apgr"] - 0.5) < 0.01 and abs(r["cpt50"] - 0.5) < 0.02 and abs(r["cpt80"] - 0.8) < 0.02, r
assert m["apgr"] > r["apgr_95"][1] and m["cpt50"] < r["cpt50_95"][0] and m["cpt80"] < r["cpt80_95"][0], (m, r)
assert j["oracle"]["apgr"] > m["apgr"]
PY

"$BIN" route-eval --data "$DATA" >"$TMP/table.txt" 2>"$TMP/err" || bad "route-eval table: $(cat "$TMP/err")"
grep -q "^router  *0\.[0-9]* *[0-9.]*% *[0-9.]*%" "$TMP/table.txt" && grep -q "random (expected) *0.500 *50.00% *80.00%" "$TMP/table.txt" &&
  grep -q "^ *50%" "$TMP/table.txt" && ok "readable curve and summary" || bad "table: $(cat "$TMP/table.txt")"

head -50 "$DATA/train.jsonl" >"$TMP/small_train.jsonl"
printf '{"text": "q", "small_correct": true}\n' >"$TMP/nolarge.jsonl"
expect_error "row without large_correct" route-eval --data "$TMP/nolarge.jsonl" --train "$TMP/small_train.jsonl"
printf 'not json\n' >"$TMP/bad.jsonl"
expect_error "malformed line" route-eval --data "$TMP/bad.jsonl" --train "$TMP/small_train.jsonl"
expect_error "file without --train" route-eval --data "$DATA/test.jsonl"
expect_error "missing folder files" route-eval --data "$TMP"
expect_error "unknown score" route-eval --data "$DATA" --score magic
"$BIN" route-eval --help >"$TMP/help" 2>&1 && grep -q "APGR" "$TMP/help" && grep -q "Examples" "$TMP/help" &&
  ok "route-eval --help" || bad "route-eval --help"
finish
