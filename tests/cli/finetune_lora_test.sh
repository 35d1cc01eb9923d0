#!/usr/bin/env bash
# End-to-end: `rightsize finetune` on a small slice of SMS spam (stories260K, LoRA on q/v), then
# the adapter through `run --lora` (PEFT folder and GGUF LoRA), `lora merge` and `lora eval`;
# an interrupted-and-resumed run gives the same adapter bytes as an uninterrupted one; bad
# inputs give one clear error line and exit 1.
source "$(dirname "$0")/lib.bash"
MODEL="$SHARED/models/stories260K.gguf"
DATA="$SHARED/datasets/sms_spam/train.jsonl"
[ -f "$MODEL" ] && [ -f "$DATA" ] || { echo "SKIP: stories260K or sms_spam missing"; exit 77; }
head -160 "$DATA" >"$TMP/train.jsonl"
sed -n '161,200p' "$DATA" >"$TMP/val.jsonl"
TEMPLATE=$'Message: {text}\nLabel:'
COMMON=(finetune -m "$MODEL" --train "$TMP/train.jsonl" --template "$TEMPLATE" --no-eos --alpha 8
    --epochs 2 --lr 5e-3 --batch 8 --max-tokens 64 --seed 7)
FT=("${COMMON[@]}" --rank 4 --targets q_proj,v_proj,down_proj -t 2)

# 1. Train; the loss falls and every output file is there.
if "$BIN" "${FT[@]}" --validation "$TMP/val.jsonl" --out "$TMP/a" --json >"$TMP/a.json" 2>"$TMP/a.err"; then
  ok "finetune exit 0"
else
  bad "finetune failed: $(tail -3 "$TMP/a.err")"
fi
for f in adapter_config.json adapter_model.safetensors adapter.gguf train_log.jsonl checkpoint.safetensors; do
  [ -s "$TMP/a/$f" ] && ok "wrote $f" || bad "missing $f"
done
drop=$(json_get "$TMP/a.json" "1 if sum(j['step_loss'][-5:])/5 < 0.3*j['step_loss'][0] else 0")
[ "$drop" = 1 ] && ok "loss drops: $(json_get "$TMP/a.json" "'%.3f -> %.3f' % (j['step_loss'][0], j['step_loss'][-1])")" \
  || bad "loss did not drop: $(json_get "$TMP/a.json" "j['step_loss']")"
grep -q '"val_loss"' "$TMP/a/train_log.jsonl" && ok "validation loss logged" || bad "no validation loss in the log"
[ "$(json_get "$TMP/a/adapter_config.json" "(j['r'], j['lora_alpha'], sorted(j['target_modules']))")" = \
  "(4, 8, ['down_proj', 'q_proj', 'v_proj'])" ] \
  && ok "PEFT config r/alpha" || bad "PEFT config: $(cat "$TMP/a/adapter_config.json")"

# 2. The adapter loads in run --lora, as PEFT folder and as GGUF LoRA, and answers with a label.
PROMPT=$'Message: WINNER!! You have won a free prize, call now to claim\nLabel:'
"$BIN" run -m "$MODEL" --lora "$TMP/a" -p "$PROMPT" -n 3 --temp 0 --json >"$TMP/r1.json" 2>"$TMP/r1.err" \
  && ok "run --lora PEFT folder" || bad "run --lora: $(cat "$TMP/r1.err")"
"$BIN" run -m "$MODEL" --lora "$TMP/a/adapter.gguf" -p "$PROMPT" -n 3 --temp 0 --json >"$TMP/r2.json" 2>"$TMP/r2.err" \
  && ok "run --lora GGUF LoRA" || bad "run --lora gguf: $(cat "$TMP/r2.err")"
"$BIN" run -m "$MODEL" -p "$PROMPT" -n 3 --temp 0 --json >"$TMP/r0.json" 2>/dev/null
ids1=$(json_get "$TMP/r1.json" "j['ids']"); ids2=$(json_get "$TMP/r2.json" "j['ids']"); ids0=$(json_get "$TMP/r0.json" "j['ids']")
[ "$ids1" = "$ids2" ] && ok "PEFT and GGUF LoRA generate the same ids" || bad "PEFT $ids1 vs GGUF $ids2"
text=$(json_get "$TMP/r1.json" "j['text'].strip()")
case "$text" in ham* | spam*) ok "adapter answers with a label: '$text'" ;; *) bad "adapter output '$text'" ;; esac
[ "$ids1" != "$ids0" ] && ok "base model answers differently ($ids0)" || bad "adapter changed nothing"

# 3. lora merge: the merged model without an adapter generates what base + adapter generates.
"$BIN" lora merge "$MODEL" "$TMP/a" "$TMP/merged.gguf" --type f32 2>"$TMP/m.err" && ok "lora merge" \
  || bad "lora merge: $(cat "$TMP/m.err")"
"$BIN" run -m "$TMP/merged.gguf" -p "$PROMPT" -n 3 --temp 0 --json >"$TMP/r3.json" 2>/dev/null
[ "$(json_get "$TMP/r3.json" "j['ids']")" = "$ids1" ] && ok "merged model matches the unmerged adapter" \
  || bad "merged $(json_get "$TMP/r3.json" "j['ids']") vs $ids1"

# 4. lora eval reports accuracy and macro-F1 for the adapter.
"$BIN" lora eval -m "$MODEL" --lora "$TMP/a" --data "$TMP/val.jsonl" --template "$TEMPLATE" --max-tokens 64 --json \
  >"$TMP/e.json" 2>"$TMP/e.err" && ok "lora eval: $(cat "$TMP/e.json" | head -c 120)" || bad "lora eval: $(cat "$TMP/e.err")"

# 5. Pause after 5 steps, resume: the same adapter bytes as an uninterrupted run.
"$BIN" "${FT[@]}" --out "$TMP/full" >/dev/null 2>&1
"$BIN" "${FT[@]}" --out "$TMP/part" --stop-after 5 >/dev/null 2>"$TMP/p.err"
grep -q "paused after step 5" "$TMP/p.err" && ok "paused after step 5" || bad "no pause: $(cat "$TMP/p.err")"
"$BIN" "${FT[@]}" --out "$TMP/part" --resume >/dev/null 2>&1
cmp -s "$TMP/full/adapter_model.safetensors" "$TMP/part/adapter_model.safetensors" \
  && ok "resumed run is byte-identical" || bad "resumed adapter differs"
"$BIN" "${COMMON[@]}" --rank 4 --targets q_proj,v_proj,down_proj -t 1 --out "$TMP/t1" >/dev/null 2>&1
cmp -s "$TMP/full/adapter_model.safetensors" "$TMP/t1/adapter_model.safetensors" \
  && ok "1 thread gives the same bytes as 2" || bad "thread count changed the adapter"

# 6. Bad input: one error line, exit 1.
expect_error "missing adapter" run -m "$MODEL" --lora "$TMP/nope" -p hi -n 1
expect_error "adapter for another model" run -m "$SHARED/models/llama-2-tiny-random.gguf" --lora "$TMP/a" --ids 1 -n 1
printf '{"prompt": "a", "completion": " b"}\n{"prompt": "broken"\n' >"$TMP/bad.jsonl"
expect_error "malformed JSONL line" finetune -m "$MODEL" --train "$TMP/bad.jsonl" --out "$TMP/b"
grep -q "bad.jsonl:2" "$TMP/err" && ok "error names the line" || bad "error without line: $(cat "$TMP/err")"
expect_error "unknown target" "${COMMON[@]}" --rank 4 --targets q_proj,x_proj --out "$TMP/c"
expect_error "resume without checkpoint" "${FT[@]}" --out "$TMP/d" --resume
# (the data summary comes first here, so the error is the last line rather than the only one)
"$BIN" "${COMMON[@]}" --rank 8 --targets q_proj,v_proj,down_proj --out "$TMP/part" --resume >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 1 ] && tail -1 "$TMP/err" | grep -q '^error: .*rank' && ok "resume with other settings: $(tail -1 "$TMP/err")" \
  || bad "resume with other settings: exit $rc: $(cat "$TMP/err")"
expect_error "text rows without template" finetune -m "$MODEL" --train "$TMP/train.jsonl" --out "$TMP/e"
finish
