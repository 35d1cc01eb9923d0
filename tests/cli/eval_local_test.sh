#!/usr/bin/env bash
# rightsize eval against a local model (stories260K): the result JSON's numbers recomputed
# independently from its per-request samples, the same answers at any concurrency, ROUGE on
# DialogSum, and one-line errors for bad input.
source "$(dirname "$0")/lib.bash"
MODEL="$SHARED/models/stories260K.gguf"
SMS="$SHARED/datasets/sms_spam/test.jsonl"
DS="$SHARED/datasets/dialogsum/test.jsonl"
[ -f "$MODEL" ] && [ -f "$SMS" ] && [ -f "$DS" ] || { echo "SKIP: shared model/data absent"; exit 77; }

# check NAME PYTHON_EXPR FILE...: EXPR (j = first JSON file, k = second) must be true.
check() {
  local name=$1 expr=$2
  shift 2
  if python3 - "$expr" "$@" 2>"$TMP/py_err" <<'PY'
import json, math, sys
def pct(v, p):  # numpy's default percentile (linear, type 7), written out independently
    v = sorted(v); h = (len(v) - 1) * p / 100; lo = math.floor(h)
    return v[lo] if lo + 1 >= len(v) else v[lo] + (h - lo) * (v[lo + 1] - v[lo])
files = [json.load(open(f)) for f in sys.argv[2:]]
j = files[0]; k = files[1] if len(files) > 1 else None
sys.exit(0 if eval(sys.argv[1]) else 1)
PY
  then ok "$name"; else bad "$name: $(head -c 300 "$TMP/py_err")"; fi
}

"$BIN" eval --data "$SMS" --target "$MODEL" --task classify --limit 12 --warmup 1 --price-hour 0.5 \
  --out "$TMP/c1.json" >"$TMP/c1.txt" 2>"$TMP/err" || bad "classify run: $(cat "$TMP/err")"
grep -q "^accuracy " "$TMP/c1.txt" && grep -q "^latency ms: p50" "$TMP/c1.txt" && ok "readable summary" ||
  bad "summary: $(cat "$TMP/c1.txt")"
check "12 samples, labels from the whole file" \
  "j['n'] == 12 and len(j['samples']) == 12 and j['labels'] == ['ham', 'spam'] and j['task'] == 'classify'" "$TMP/c1.json"
check "accuracy = share of samples whose prediction equals the gold label" \
  "abs(j['quality']['accuracy'] - sum(s['prediction'] == s['gold'] for s in j['samples']) / 12) < 1e-12" "$TMP/c1.json"
check "gold labels are the first 12 rows of the file" \
  "[s['gold'] for s in j['samples']] == [json.loads(l)['label'] for l in open('$SMS')][:12]" "$TMP/c1.json"
check "p50/p90/p99 = numpy-style percentiles of the sample latencies" \
  "all(abs(j['latency_ms'][f'p{p}'] - pct([s['latency_ms'] for s in j['samples']], p)) < 1e-9 for p in (50, 90, 99))" "$TMP/c1.json"
check "throughput = requests / wall time; cost = price-hour / 3600 / throughput" \
  "abs(j['throughput']['requests_per_s'] - 12 / j['throughput']['wall_s']) < 1e-9 and abs(j['cost']['per_request'] - 0.5 / 3600 / j['throughput']['requests_per_s']) < 1e-15" "$TMP/c1.json"
check "time to first token measured locally, below each request's latency" \
  "all(0 < s['ttft_ms'] <= s['latency_ms'] for s in j['samples'] if s['output']) and j['ttft_ms']['p50'] <= j['latency_ms']['p99']" "$TMP/c1.json"
check "token counts are the sum over requests and positive" \
  "j['tokens']['input'] > 12 * 20 and 12 <= j['tokens']['output'] <= 12 * 16" "$TMP/c1.json"

# Two workers with their own thread pools: greedy answers must not change.
"$BIN" eval --data "$SMS" --target "$MODEL" --task classify --limit 12 --concurrency 2 --threads 2 --json \
  >"$TMP/c2.json" 2>"$TMP/err" || bad "concurrency 2: $(cat "$TMP/err")"
check "same answers at concurrency 2" \
  "[s['output'] for s in j['samples']] == [s['output'] for s in k['samples']] and k['throughput']['concurrency'] == 2" \
  "$TMP/c1.json" "$TMP/c2.json"

# Summaries of three DialogSum dialogues; the ROUGE in the result equals `eval metrics` on the
# same outputs (the metric itself is checked against ROUGE-1.5.5 in eval_metrics_test.sh).
"$BIN" eval --data "$DS" --target "$MODEL" --task summarize --limit 3 --max-tokens 24 --json \
  >"$TMP/s.json" 2>"$TMP/err" || bad "summarize: $(cat "$TMP/err")"
python3 - "$TMP/s.json" "$DS" "$TMP" <<'PY' || bad "cannot write summaries"
import json, sys
j = json.load(open(sys.argv[1])); rows = [json.loads(l) for l in open(sys.argv[2])][:3]
open(sys.argv[3] + "/hyp.txt", "w").write("\n".join(s["output"].replace("\n", " ") for s in j["samples"]) + "\n")
for k in range(3):
    open(f"{sys.argv[3]}/ref{k}.txt", "w").write("\n".join(r["references"][k] for r in rows) + "\n")
PY
"$BIN" eval metrics --metric rouge --stem --hyp "$TMP/hyp.txt" --ref "$TMP/ref0.txt" --ref "$TMP/ref1.txt" \
  --ref "$TMP/ref2.txt" --json >"$TMP/r.json" 2>"$TMP/err" || bad "eval metrics: $(cat "$TMP/err")"
check "summarize ROUGE-L = eval metrics on the same outputs" \
  "abs(j['quality']['rougeL_f'] - k['rougeL']['f']) < 1e-12 and j['quality']['metric'] == 'rougeL_f' and j['quality']['stem']" \
  "$TMP/s.json" "$TMP/r.json"

# Free generation with references: chrF/BLEU in the result equal `eval metrics` on the outputs.
printf '{"prompt": "Once upon a time", "completion": "there was a little girl named Lily."}\n{"prompt": "The dog", "references": ["ran to the park."]}\n' >"$TMP/gen.jsonl"
"$BIN" eval --data "$TMP/gen.jsonl" --target "$MODEL" --task generate --max-tokens 12 --json >"$TMP/g.json" 2>"$TMP/err" ||
  bad "generate: $(cat "$TMP/err")"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); open(sys.argv[2],'w').write(''.join(s['output'].replace(chr(10),' ')+chr(10) for s in j['samples']))" \
  "$TMP/g.json" "$TMP/ghyp.txt"
printf 'there was a little girl named Lily.\nran to the park.\n' >"$TMP/gref.txt"
"$BIN" eval metrics --metric chrf --hyp "$TMP/ghyp.txt" --ref "$TMP/gref.txt" --json >"$TMP/gc.json" 2>/dev/null
"$BIN" eval metrics --metric bleu --hyp "$TMP/ghyp.txt" --ref "$TMP/gref.txt" --json >"$TMP/gb.json" 2>/dev/null
check "generate: chrF = eval metrics on the outputs" "abs(j['quality']['chrf'] - k['score']) < 1e-9 and j['quality']['metric'] == 'chrf'" "$TMP/g.json" "$TMP/gc.json"
check "generate: BLEU = eval metrics on the outputs" "abs(j['quality']['bleu'] - k['score']) < 1e-9" "$TMP/g.json" "$TMP/gb.json"

# Bad input: one line starting with "error:", exit 1, no crash.
printf '{"text": "hi", "label": "ham"}\n{"text": "no label"}\n' >"$TMP/nolabel.jsonl"
expect_error "row without a label" eval --data "$TMP/nolabel.jsonl" --target "$MODEL" --task classify
printf '{"text": "hi", "label": "ham"}\n{"text": broken\n' >"$TMP/broken.jsonl"
expect_error "malformed JSON line" eval --data "$TMP/broken.jsonl" --target "$MODEL"
expect_error "missing data file" eval --data "$TMP/none.jsonl" --target "$MODEL"
expect_error "missing model" eval --data "$SMS" --target "$TMP/none.gguf"
expect_error "unknown task" eval --data "$SMS" --target "$MODEL" --task translate
expect_error "unknown placeholder" eval --data "$SMS" --target "$MODEL" --prompt-template "{txt}"
expect_error "bad concurrency" eval --data "$SMS" --target "$MODEL" --concurrency 0
expect_error "no target" eval --data "$SMS"
expect_error "summarize rows need references" eval --data "$SMS" --target "$MODEL" --task summarize
# Nothing listens on port 9 of loopback (discard; not run in CI containers): the warm-up fails fast.
expect_error "unreachable URL" eval --data "$SMS" --target http://127.0.0.1:9 --warmup 1 --retries 0 --limit 2
expect_error "compare needs result files or data" eval --compare "$TMP/x.json" "$TMP/y.json"

"$BIN" eval --help >"$TMP/help" 2>&1 && grep -q -- "--concurrency" "$TMP/help" && grep -q "Examples" "$TMP/help" &&
  grep -q "matched" "$TMP/help" && ok "eval --help teaches" || bad "eval --help"
finish
