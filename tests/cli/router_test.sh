#!/usr/bin/env bash
# rightsize train-router + classify on a real subset of CLINC150 (20 intents + oos): the JSON
# interface outside checks call, figures recomputed from the predictions, --text, the readable
# table, and one-line errors for bad input (missing file, malformed line, corrupt router file).
source "$(dirname "$0")/lib.bash"
DATA="$SHARED/datasets/clinc150"
[ -f "$DATA/train.jsonl" ] && [ -f "$DATA/validation.jsonl" ] || { echo "SKIP: clinc150 absent"; exit 77; }

# The first 20 intents (rows are grouped by intent) plus every oos row.
python3 - "$DATA" "$TMP" <<'PY'
import json, sys
d, t = sys.argv[1], sys.argv[2]
train = [json.loads(l) for l in open(f"{d}/train.jsonl")]
keep = []
for r in train:
    if r["label"] != "oos" and r["label"] not in keep and len(keep) < 20: keep.append(r["label"])
keep = set(keep) | {"oos"}
for split in ("train", "validation"):
    rows = [json.loads(l) for l in open(f"{d}/{split}.jsonl")]
    with open(f"{t}/{split}.jsonl", "w") as f:
        for r in rows:
            if r["label"] in keep: f.write(json.dumps(r) + "\n")
PY

"$BIN" train-router --train "$TMP/train.jsonl" --validation "$TMP/validation.jsonl" --out "$TMP/r.router" \
  --l2 3e-6 --epochs 6 --json >"$TMP/train.json" 2>"$TMP/err" && [ -s "$TMP/r.router" ] &&
  ok "train-router exits 0 and writes the router" || bad "train-router: $(cat "$TMP/err")"
[ "$(json_get "$TMP/train.json" 'j["classes"]')" = 21 ] && ok "21 classes (20 intents + oos)" ||
  bad "train report: $(head -c 600 "$TMP/train.json")"

"$BIN" classify --router "$TMP/r.router" --data "$TMP/validation.jsonl" --json >"$TMP/c.json" 2>"$TMP/err" ||
  bad "classify: $(cat "$TMP/err")"
python3 - "$TMP/c.json" "$TMP/validation.jsonl" <<'PY' && ok "classify --json: predictions, accuracy, macro-F1, oos figures recomputed, p50/p99" || bad "classify json: $(head -c 600 "$TMP/c.json")"
import json, sys
j = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
p = j["predictions"]
assert len(p) == len(rows) == j["n"]
assert all(set(x) == {"label", "confidence"} and 0 < x["confidence"] <= 1 for x in p)
gold = [r["label"] for r in rows]; pred = [x["label"] for x in p]
acc = sum(g == q for g, q in zip(gold, pred)) / len(rows)
assert abs(j["accuracy"] - acc) < 1e-12, (j["accuracy"], acc)
assert acc > 0.85, acc
labels = sorted(set(gold) | set(pred)); f1s = []
for l in labels:
    tp = sum(g == q == l for g, q in zip(gold, pred)); pp = pred.count(l); gg = gold.count(l)
    pr = tp / pp if pp else 0; rc = tp / gg if gg else 0
    f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0)
assert abs(j["macro_f1"] - sum(f1s) / len(f1s)) < 1e-9
ins = [(g, q) for g, q in zip(gold, pred) if g != "oos"]
assert abs(j["in_scope_accuracy"] - sum(g == q for g, q in ins) / len(ins)) < 1e-12
oos = [q for g, q in zip(gold, pred) if g == "oos"]
assert abs(j["oos_recall"] - oos.count("oos") / len(oos)) < 1e-12
called = [g for g, q in zip(gold, pred) if q == "oos"]
assert abs(j["oos_precision"] - (called.count("oos") / len(called) if called else 0)) < 1e-12
assert 0 < j["p50_ms"] <= j["p99_ms"]
PY

"$BIN" classify --router "$TMP/r.router" --text "what is the capital of the moon" --json >"$TMP/t.json" 2>"$TMP/err" &&
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert len(j['predictions'])==1 and 'accuracy' not in j" "$TMP/t.json" &&
  ok "classify --text --json: one prediction, no accuracy" || bad "classify --text: $(cat "$TMP/t.json" "$TMP/err")"
"$BIN" classify --router "$TMP/r.router" --data "$TMP/validation.jsonl" >"$TMP/table.txt" 2>"$TMP/err" &&
  grep -qE "accuracy [01]\.[0-9]+, macro-F1" "$TMP/table.txt" && grep -q "oos recall" "$TMP/table.txt" &&
  grep -q "p99" "$TMP/table.txt" && ok "readable table" || bad "table: $(cat "$TMP/table.txt" "$TMP/err")"
sed 's/"label": "[^"]*"//; s/, }/}/' "$TMP/validation.jsonl" | head -20 >"$TMP/unlabeled.jsonl"
"$BIN" classify --router "$TMP/r.router" --data "$TMP/unlabeled.jsonl" --json >"$TMP/u.json" 2>"$TMP/err" &&
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert len(j['predictions'])==20 and 'accuracy' not in j and 'macro_f1' not in j" "$TMP/u.json" &&
  ok "unlabeled rows: predictions without accuracy" || bad "unlabeled: $(head -c 300 "$TMP/u.json") $(cat "$TMP/err")"

# Without --validation a seeded share of train is held out.
"$BIN" train-router --train "$TMP/train.jsonl" --out "$TMP/carved.router" --l2 3e-6 --epochs 3 --json >"$TMP/carved.json" 2>"$TMP/err" &&
  [ "$(json_get "$TMP/carved.json" 'j["heldout_from_train"]')" = True ] && ok "held-out rows carved from train" ||
  bad "carved: $(cat "$TMP/err")"

# The language-model back end: stories260K scores the labels "ham" and "spam" (nothing trained;
# labels from --labels, temperature from --validation), then classify works unchanged with it.
LM="$SHARED/models/stories260K.gguf"
if [ -f "$LM" ]; then
  printf '{"text": "Free entry! Text WIN to 80082", "label": "spam"}\n{"text": "see you at home tonight", "label": "ham"}\n{"text": "you won a prize, call now", "label": "spam"}\n' >"$TMP/sms.jsonl"
  "$BIN" train-router --lm "$LM" --template $'Message: {text}\nLabel:' --labels ham,spam \
    --validation "$TMP/sms.jsonl" --out "$TMP/lm.router" --json >"$TMP/lm.json" 2>"$TMP/err" &&
    [ "$(json_get "$TMP/lm.json" 'j["backend"]')" = lm ] && [ "$(json_get "$TMP/lm.json" 'j["heldout_rows"]')" = 3 ] &&
    ok "train-router --lm: language-model back end, 3 validation rows" || bad "train-router --lm: $(cat "$TMP/lm.json" "$TMP/err")"
  "$BIN" classify --router "$TMP/lm.router" --data "$TMP/sms.jsonl" --json >"$TMP/lmc.json" 2>"$TMP/err" &&
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=j['predictions']; assert len(p)==3 and all(x['label'] in ('ham','spam') and 0.5<=x['confidence']<=1 for x in p)" "$TMP/lmc.json" &&
    ok "classify with the language-model router" || bad "classify --lm router: $(head -c 400 "$TMP/lmc.json") $(cat "$TMP/err")"
  expect_error "train: --lm template without {text}" train-router --lm "$LM" --template 'Label:' --labels ham,spam --out "$TMP/x.router"
  expect_error "train: --lm with one label" train-router --lm "$LM" --labels ham --out "$TMP/x.router"
  expect_error "train: --lm missing model" train-router --lm "$TMP/nope.gguf" --labels ham,spam --out "$TMP/x.router"
  expect_error "train: neither --train nor --lm" train-router --out "$TMP/x.router"
fi

printf '{"text": "a", "label": "x"}\nnot json\n' >"$TMP/bad.jsonl"
expect_error "train: missing file" train-router --train "$TMP/nope.jsonl" --out "$TMP/x.router"
expect_error "train: malformed JSON line" train-router --train "$TMP/bad.jsonl" --out "$TMP/x.router"
printf '{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n' >"$TMP/one.jsonl"
expect_error "train: one label" train-router --train "$TMP/one.jsonl" --out "$TMP/x.router"
expect_error "classify: missing router" classify --router "$TMP/nope.router" --text hi
expect_error "classify: missing data" classify --router "$TMP/r.router" --data "$TMP/nope.jsonl"
expect_error "classify: malformed JSON line" classify --router "$TMP/r.router" --data "$TMP/bad.jsonl"
expect_error "classify: neither --data nor --text" classify --router "$TMP/r.router"
head -c 1000 "$TMP/r.router" >"$TMP/trunc.router"
expect_error "classify: truncated router" classify --router "$TMP/trunc.router" --text hi
cp "$TMP/r.router" "$TMP/flip.router"
printf '\x7f' | dd of="$TMP/flip.router" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "classify: corrupt router" classify --router "$TMP/flip.router" --text hi
expect_error "classify: not a router" classify --router "$TMP/validation.jsonl" --text hi
"$BIN" train-router --help >"$TMP/help" 2>&1 && grep -q "Examples" "$TMP/help" && grep -q "oos" "$TMP/help" &&
  "$BIN" classify --help >"$TMP/help" 2>&1 && grep -q "Examples" "$TMP/help" && ok "--help teaches" || bad "--help"
finish
