#!/usr/bin/env bash
# rightsize run / tokenize / embed / info against the reference outputs in shared/.
source "$(dirname "$0")/lib.bash"
M="$SHARED/models/stories260K.gguf"
REF="$SHARED/models/stories260K_reference.json"

# run --json: the greedy continuation from "Once upon a time" equals llama.cpp's.
"$BIN" run -m "$M" -p "Once upon a time" -n 32 --temp 0 --json >"$TMP/run.json" 2>"$TMP/err" || bad "run --json failed: $(cat "$TMP/err")"
want=$(python3 -c "import json; r=json.load(open('$SHARED/oracle/refs/stories260K.json')); x=r['results'][0]; print(x['tokens'], x['greedy_ids'])")
got=$(json_get "$TMP/run.json" "j['prompt_ids'], j['ids']")
[ "$got" = "$want" ] && ok "run greedy ids = llama.cpp" || bad "run greedy ids: got $got want $want"
for key in prompt_ids ids text prompt_tokens_per_s gen_tokens_per_s; do
  json_get "$TMP/run.json" "'$key' in j" | grep -q True && ok "run --json has $key" || bad "run --json lacks $key"
done
got=$(json_get "$TMP/run.json" "j['text']")
want=$(python3 -c "import json; print(json.load(open('$SHARED/oracle/refs/stories260K.json'))['results'][0]['greedy_text'])")
[ "$got" = "$want" ] && ok "run text = llama.cpp greedy_text" || bad "run text: '$got' vs '$want'"

# --ids feeds token ids; BOS alone gives the llama2.c reference continuation.
"$BIN" run -m "$M" --ids 1 -n 20 --temp 0 --json --ignore-eos >"$TMP/ids.json" || bad "run --ids failed"
got=$(json_get "$TMP/ids.json" "j['ids']")
want=$(json_get "$REF" "j['greedy_ids'][:20]")
[ "$got" = "$want" ] && ok "run --ids 1 = llama2.c greedy" || bad "run --ids: $got vs $want"

# The Hugging Face folder gives the same ids (tokenizer from the GGUF).
"$BIN" run -m "$SHARED/models/stories260K-hf" --tokenizer "$M" -p "Once upon a time" -n 32 --temp 0 --json >"$TMP/hf.json" || bad "run hf failed"
[ "$(json_get "$TMP/hf.json" "j['ids']")" = "$(json_get "$TMP/run.json" "j['ids']")" ] && ok "HF folder = GGUF" || bad "HF folder differs"
expect_error "HF folder without tokenizer, text prompt" run -m "$SHARED/models/stories260K-hf" -p "hi"

# Streaming mode prints the text and the speed line.
"$BIN" run -m "$M" -p "Once upon a time" -n 16 --temp 0 >"$TMP/stream.txt" 2>"$TMP/speed.txt" || bad "run stream failed"
grep -q "there was" "$TMP/stream.txt" && ok "streamed text" || bad "streamed text: $(cat "$TMP/stream.txt")"
grep -q "tokens/s" "$TMP/speed.txt" && ok "speed line" || bad "no speed line: $(cat "$TMP/speed.txt")"

# Sampling with a seed is reproducible.
a=$("$BIN" run -m "$M" -p "Once" -n 24 --temp 1 --seed 42 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['ids'])")
b=$("$BIN" run -m "$M" -p "Once" -n 24 --temp 1 --seed 42 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['ids'])")
[ "$a" = "$b" ] && ok "seeded sampling reproducible" || bad "seeded sampling: $a vs $b"

# tokenize --json: BOS per metadata; --no-special omits it.
for text in "Once upon a time" "Lily and Tom went to the park."; do
  got=$("$BIN" tokenize -m "$M" -p "$text" --json)
  want=$(python3 -c "import json,sys; print(json.dumps({'ids': json.load(open('$REF'))['encode_examples'][sys.argv[1]]}, separators=(',',':')))" "$text")
  [ "$got" = "$want" ] && ok "tokenize '$text'" || bad "tokenize '$text': $got vs $want"
done
got=$("$BIN" tokenize -m "$M" -p "Once upon a time" --json --no-special)
[ "$got" = '{"ids":[403,407,261,378]}' ] && ok "tokenize --no-special" || bad "tokenize --no-special: $got"

# embed --json: bert embeddings within 2e-4 of llama.cpp's.
"$BIN" embed -m "$SHARED/oracle/models/bert-f32.gguf" -p "Hello world" --json >"$TMP/emb.json" || bad "embed failed"
err=$(python3 -c "
import json
got = json.load(open('$TMP/emb.json'))['embedding']
ref = [r for r in json.load(open('$SHARED/oracle/refs/bert-f32.json'))['results'] if r['prompt'] == 'Hello world'][0]
print(max(abs(a - b) for a, b in zip(got, ref['embedding_l2'])))")
python3 -c "import sys; sys.exit(0 if float('$err') <= 2e-4 else 1)" && ok "embed max err $err" || bad "embed max err $err"

# info --json
"$BIN" info "$SHARED/oracle/models/qwen2-q8_0.gguf" --json >"$TMP/info.json" || bad "info failed"
[ "$(json_get "$TMP/info.json" "j['metadata']['general.architecture']")" = '"qwen2"' ] && ok "info --json" || bad "info --json"

# Every subcommand teaches with --help.
for sub in run info tokenize embed; do
  "$BIN" "$sub" --help >"$TMP/help" 2>&1 && grep -q -- "--json" "$TMP/help" && ok "$sub --help" || bad "$sub --help"
done
finish
