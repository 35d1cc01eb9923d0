#!/usr/bin/env bash
# rightsize eval metrics on the DialogSum baseline: the numbers sacrebleu and ROUGE-1.5.5 printed
# (shared/metrics/), read back from the real binary's --json.
source "$(dirname "$0")/lib.bash"
HYP="$SHARED/metrics/dialogsum_baseline_bart_test_output.txt"
SACRE="$SHARED/metrics/dialogsum_baseline_sacrebleu_expected.json"
R155="$SHARED/metrics/dialogsum_baseline_rouge155_expected.json"

# One reference file per stream: refK.txt line i = references[K-1] of test.jsonl row i.
python3 - "$SHARED/datasets/dialogsum/test.jsonl" "$TMP" <<'EOF' || bad "cannot write reference files"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
for k in range(3):
    with open(f"{sys.argv[2]}/ref{k + 1}.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(r["references"][k] for r in rows) + "\n")
EOF
R1="$TMP/ref1.txt"
R3=(--ref "$TMP/ref1.txt" --ref "$TMP/ref2.txt" --ref "$TMP/ref3.txt")

# check_json NAME FILE PYTHON_EXPR: EXPR (with j = our JSON, e = the expected JSON file given as
# the 4th argument) must be true.
check_json() {
  local name=$1 file=$2 expr=$3 expected=$4
  if python3 -c "import json,sys; j=json.load(open(sys.argv[1])); e=json.load(open(sys.argv[2])); sys.exit(0 if ($expr) else 1)" \
    "$file" "$expected" 2>"$TMP/py_err"; then
    ok "$name"
  else
    bad "$name: $(head -c 300 "$TMP/py_err") got $(head -c 600 "$file")"
  fi
}

# BLEU, every tokenizer, 1 and 3 references: score, counts, totals, lengths, brevity penalty.
for tok in 13a none intl; do
  for nrefs in 1 3; do
    if [ "$nrefs" = 1 ]; then refs=(--ref "$R1"); key="bleu_ref1_$tok"; else refs=("${R3[@]}"); key="bleu_ref1+2+3_$tok"; fi
    out="$TMP/bleu_${tok}_$nrefs.json"
    "$BIN" eval metrics --metric bleu --hyp "$HYP" "${refs[@]}" --tokenize "$tok" --json >"$out" 2>"$TMP/err" ||
      bad "bleu $tok x$nrefs failed: $(cat "$TMP/err")"
    check_json "bleu $tok, $nrefs ref(s) = sacrebleu" "$out" \
      "abs(j['score'] - e['corpus']['$key']['score']) < 1e-9 and j['counts'] == e['corpus']['$key']['counts'] and j['totals'] == e['corpus']['$key']['totals'] and j['sys_len'] == e['corpus']['$key']['sys_len'] and j['ref_len'] == e['corpus']['$key']['ref_len'] and abs(j['bp'] - e['corpus']['$key']['bp']) < 1e-12" \
      "$SACRE"
  done
done

# Sentence BLEU of every line against summary1, as printed (6 decimals).
"$BIN" eval metrics --metric bleu --hyp "$HYP" --ref "$R1" --per-example --json >"$TMP/sent.json" ||
  bad "bleu --per-example failed"
check_json "sentence BLEU x500 = sacrebleu (6 d.p.)" "$TMP/sent.json" \
  "len(j['sentence_bleu']) == 500 and all(f'{a:.6f}' == f'{b:.6f}' for a, b in zip(j['sentence_bleu'], e['sentence_bleu_summary1']))" \
  "$SACRE"

# chrF, 1 and 3 references.
"$BIN" eval metrics --metric chrf --hyp "$HYP" --ref "$R1" --json >"$TMP/chrf1.json" || bad "chrf failed"
check_json "chrF 1 ref = sacrebleu" "$TMP/chrf1.json" "abs(j['score'] - e['corpus']['chrf_ref1']['score']) < 1e-9" "$SACRE"
"$BIN" eval metrics --metric chrf --hyp "$HYP" "${R3[@]}" --json >"$TMP/chrf3.json" || bad "chrf x3 failed"
check_json "chrF 3 refs = sacrebleu" "$TMP/chrf3.json" "abs(j['score'] - e['corpus']['chrf_ref1+2+3']['score']) < 1e-9" "$SACRE"

# ROUGE-1/2/L averages as ROUGE-1.5.5 printed them (5 decimals), with and without stemming.
for run in ref1_nostem ref1_stem ref3_nostem ref3_stem; do
  args=(--metric rouge --hyp "$HYP" --json)
  case $run in ref1_*) args+=(--ref "$R1") ;; *) args+=("${R3[@]}") ;; esac
  case $run in *_stem) args+=(--stem) ;; esac
  "$BIN" eval metrics "${args[@]}" >"$TMP/$run.json" 2>"$TMP/err" || bad "rouge $run failed: $(cat "$TMP/err")"
  check_json "rouge $run = ROUGE-1.5.5" "$TMP/$run.json" \
    "all(f'{j[ours][m]:.5f}' == f\"{e['results']['$run']['average'][theirs][k]['mean']:.5f}\" for ours, theirs in [('rouge1', 'ROUGE-1'), ('rouge2', 'ROUGE-2'), ('rougeL', 'ROUGE-L')] for m, k in [('precision', 'P'), ('recall', 'R'), ('f', 'F')])" \
    "$R155"
done

# Classification on a hand-computed example (a: P 1 R 2/3; b: 1/2 1/2; c: 1/2 1).
printf 'a\na\nb\nb\nc\nc\n' >"$TMP/pred.txt"
printf 'a\na\na\nb\nb\nc\n' >"$TMP/gold.txt"
"$BIN" eval metrics --metric classification --hyp "$TMP/pred.txt" --ref "$TMP/gold.txt" --oos-label c --json \
  >"$TMP/cls.json" || bad "classification failed"
check_json "classification accuracy, macro F1, oos recall" "$TMP/cls.json" \
  "abs(j['accuracy'] - 4/6) < 1e-12 and abs(j['macro']['f1'] - (0.8 + 0.5 + 2/3) / 3) < 1e-12 and j['oos']['recall'] == 1.0 and j['confusion'] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]" \
  "$SACRE"

# The readable table.
"$BIN" eval metrics --metric rouge --hyp "$HYP" --ref "$R1" >"$TMP/table.txt" || bad "rouge table failed"
grep -q "rouge1 .*0.50171 .*0.41412 .*0.43843" "$TMP/table.txt" && ok "rouge table" || bad "rouge table: $(cat "$TMP/table.txt")"

# Bad input: one-line errors, no crash.
expect_error "missing hypothesis file" eval metrics --metric bleu --hyp "$TMP/nope.txt" --ref "$R1"
head -3 "$R1" >"$TMP/short.txt"
expect_error "line count mismatch" eval metrics --metric bleu --hyp "$HYP" --ref "$TMP/short.txt"
printf 'fine\nbad \xff byte\n' >"$TMP/bad.txt"
expect_error "invalid UTF-8" eval metrics --metric rouge --hyp "$TMP/bad.txt" --ref "$TMP/bad.txt"
expect_error "unknown metric" eval metrics --metric meteor --hyp "$HYP" --ref "$R1"
expect_error "unknown tokenizer" eval metrics --metric bleu --hyp "$HYP" --ref "$R1" --tokenize xx
: >"$TMP/empty.txt"
expect_error "empty hypothesis file" eval metrics --metric chrf --hyp "$TMP/empty.txt" --ref "$TMP/empty.txt"

"$BIN" eval metrics --help >"$TMP/help" 2>&1 && grep -q -- "--json" "$TMP/help" && grep -q "Examples" "$TMP/help" &&
  ok "eval metrics --help" || bad "eval metrics --help"
finish
