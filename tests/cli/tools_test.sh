#!/usr/bin/env bash
# make-random, quantize and bench end to end: a tiny random model is written, quantized, loaded,
# run and benchmarked; bad arguments give one `error:` line and a non-zero exit.
source "$(dirname "$0")/lib.bash"

# make-random: a tiny llama, F32, then the same shape straight to Q8_0.
"$BIN" make-random --preset tiny -o "$TMP/tiny-f32.gguf" --seed 3 -t 2 >"$TMP/mk.txt" 2>"$TMP/err" &&
  grep -q "wrote" "$TMP/mk.txt" && ok "make-random tiny f32" || bad "make-random: $(cat "$TMP/err")"
"$BIN" make-random --preset tiny --type q8_0 -o "$TMP/tiny-q8.gguf" --seed 3 --json >"$TMP/mk.json" 2>"$TMP/err" ||
  bad "make-random --json: $(cat "$TMP/err")"
[ "$(json_get "$TMP/mk.json" "j['type'], j['n_layer'], j['n_vocab']")" = "q8_0 2 512" ] &&
  ok "make-random --json" || bad "make-random --json: $(cat "$TMP/mk.json")"
"$BIN" info "$TMP/tiny-q8.gguf" --json >"$TMP/info.json" || bad "info on a random model"
[ "$(json_get "$TMP/info.json" "j['metadata']['general.file_type']")" = "7" ] && ok "file_type 7 (Q8_0)" ||
  bad "file_type: $(json_get "$TMP/info.json" "j['metadata'].get('general.file_type')")"

# Shape flags without a preset; qwen2 with biases.
"$BIN" make-random --arch qwen2 --n-vocab 300 --n-embd 64 --n-layer 1 --n-head 2 --n-head-kv 1 --n-ff 128 \
  -o "$TMP/q.gguf" >/dev/null 2>"$TMP/err" && ok "make-random by shape flags" || bad "shape flags: $(cat "$TMP/err")"
"$BIN" run -m "$TMP/q.gguf" --ids 1,2,3 -n 4 --temp 0 --json >"$TMP/run.json" 2>"$TMP/err" &&
  [ "$(json_get "$TMP/run.json" "len(j['ids'])")" = "4" ] && ok "run on a random qwen2 model" ||
  bad "run random model: $(cat "$TMP/err")"

# quantize: F32 -> Q4_K_M and Q4_0 with the summary; the result loads and runs.
"$BIN" quantize "$TMP/tiny-f32.gguf" "$TMP/tiny-q4km.gguf" q4_k_m >"$TMP/qz.txt" 2>"$TMP/err" ||
  bad "quantize q4_k_m: $(cat "$TMP/err")"
grep -q "blk.\*.attn_v.weight" "$TMP/qz.txt" && grep -q "q6_K" "$TMP/qz.txt" && ok "quantize summary" ||
  bad "quantize summary: $(cat "$TMP/qz.txt")"
"$BIN" quantize "$TMP/tiny-f32.gguf" "$TMP/tiny-q4_0.gguf" Q4_0 --json >"$TMP/qz.json" 2>"$TMP/err" ||
  bad "quantize q4_0: $(cat "$TMP/err")"
got=$(json_get "$TMP/qz.json" "[{t['name']: t['type'] for t in j['tensors']}[n] for n in ('token_embd.weight', 'blk.0.attn_q.weight', 'blk.0.attn_norm.weight')]")
[ "$got" = "['q6_K', 'q4_0', 'f32']" ] && ok "quantize --json types" || bad "quantize --json types: $got"
"$BIN" run -m "$TMP/tiny-q4_0.gguf" --ids 1,5 -n 2 --temp 0 --json >/dev/null 2>"$TMP/err" && ok "quantized model runs" ||
  bad "quantized model: $(cat "$TMP/err")"
# Same tensor types as llama-quantize's file (tests/model checks the bytes too).
"$BIN" quantize "$SHARED/oracle/models/llama-spm-f32.gguf" "$TMP/spm.gguf" q4_k_m >/dev/null 2>&1 || bad "quantize llama-spm"
"$BIN" info "$TMP/spm.gguf" --json >"$TMP/a.json" && "$BIN" info "$SHARED/oracle/models/llama-spm-q4_k_m.gguf" --json >"$TMP/b.json"
types() { json_get "$1" "sorted((t['name'], t['type']) for t in j['tensors'])"; }
[ "$(types "$TMP/a.json")" = "$(types "$TMP/b.json")" ] && ok "quantize q4_k_m types = llama-quantize" ||
  bad "q4_k_m types differ from llama-quantize"

# bench: tiny runs, JSON keys.
"$BIN" bench -m "$TMP/tiny-q8.gguf" -p 16 -n 4 -r 1 -t 2 --json --bandwidth-mib 64 >"$TMP/bench.json" 2>"$TMP/err" ||
  bad "bench --json: $(cat "$TMP/err")"
for key in pp_tokens_per_s pp_tokens_per_s_sd tg_tokens_per_s tg_tokens_per_s_sd model_size_bytes threads reps \
  bandwidth_gb_s roofline_fraction weight_bytes_per_token; do
  json_get "$TMP/bench.json" "'$key' in j" | grep -q True && ok "bench --json has $key" || bad "bench --json lacks $key"
done
[ "$(json_get "$TMP/bench.json" "j['pp_tokens_per_s'] > 0 and j['tg_tokens_per_s'] > 0 and j['threads'] == 2 and j['reps'] == 1")" = "True" ] &&
  ok "bench values" || bad "bench values: $(cat "$TMP/bench.json")"
"$BIN" bench -m "$TMP/tiny-q8.gguf" -p 0 -n 2 -r 2 --no-bandwidth --json >"$TMP/b2.json" 2>"$TMP/err" ||
  bad "bench -p 0: $(cat "$TMP/err")"
[ "$(json_get "$TMP/b2.json" "j['pp_tokens_per_s'] is None and j['tg_tokens_per_s'] > 0 and len(j['tg_samples']) == 2")" = "True" ] &&
  ok "bench -p 0 skips pp" || bad "bench -p 0: $(cat "$TMP/b2.json")"
"$BIN" bench -m "$TMP/tiny-q8.gguf" -p 8 -n 2 -r 1 --bandwidth-mib 64 >"$TMP/table.txt" 2>"$TMP/err" || bad "bench table"
grep -q " pp8 |" "$TMP/table.txt" && grep -q " tg2 |" "$TMP/table.txt" && grep -q "GB/s" "$TMP/table.txt" &&
  ok "bench table" || bad "bench table: $(cat "$TMP/table.txt")"
"$BIN" bench --bandwidth-only --bandwidth-mib 64 -t 1 --json >"$TMP/bw.json" 2>"$TMP/err" &&
  [ "$(json_get "$TMP/bw.json" "j['bandwidth_gb_s'] > 0")" = "True" ] && ok "bench --bandwidth-only" ||
  bad "bandwidth-only: $(cat "$TMP/err")"

# Bad arguments: one line, `error:`, non-zero exit.
expect_error "make-random unknown preset" make-random --preset nope -o "$TMP/x.gguf"
expect_error "make-random unknown type" make-random --preset tiny --type q3_k -o "$TMP/x.gguf"
expect_error "make-random no shape" make-random -o "$TMP/x.gguf"
expect_error "make-random bad heads" make-random --preset tiny --n-head-kv 3 -o "$TMP/x.gguf"
expect_error "quantize unknown type" quantize "$TMP/tiny-f32.gguf" "$TMP/x.gguf" q9_9
expect_error "quantize missing input" quantize "$TMP/none.gguf" "$TMP/x.gguf" q8_0
expect_error "quantize not a gguf" quantize "$TMP/mk.txt" "$TMP/x.gguf" q8_0
expect_error "quantize requantize" quantize "$TMP/tiny-q8.gguf" "$TMP/x.gguf" q4_0
[ ! -e "$TMP/x.gguf" ] && [ ! -e "$TMP/x.gguf.tmp" ] && ok "failed commands leave no file" || bad "left a file behind"
"$BIN" quantize "$TMP/tiny-q8.gguf" "$TMP/rq.gguf" q4_0 --allow-requantize >/dev/null 2>&1 && ok "--allow-requantize" ||
  bad "--allow-requantize failed"
expect_error "bench without model" bench -p 8
expect_error "bench missing model" bench -m "$TMP/none.gguf"
expect_error "bench negative -p" bench -m "$TMP/tiny-q8.gguf" -p -5
expect_error "bench zero reps" bench -m "$TMP/tiny-q8.gguf" -r 0
expect_error "bench nothing to do" bench -m "$TMP/tiny-q8.gguf" -p 0 -n 0
expect_error "bench embedding model" bench -m "$SHARED/oracle/models/bert-f32.gguf" -p 4 -n 0 --no-bandwidth

for sub in make-random quantize bench; do
  "$BIN" "$sub" --help >"$TMP/help" 2>&1 && grep -q -- "--json" "$TMP/help" && grep -q "Examples" "$TMP/help" &&
    ok "$sub --help" || bad "$sub --help"
done
finish
