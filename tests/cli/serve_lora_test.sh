#!/usr/bin/env bash
# End-to-end: per-request LoRA adapters in one `rightsize serve` process. Requests for two
# adapters and for the base model, sent concurrently, each return exactly what they return alone;
# an adapter answers what `rightsize run --lora` answers; adapters load, reload and unload at run
# time (vLLM's endpoints) without disturbing the others.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/serve_lib.bash"
M="$SHARED/models/stories260K.gguf"
QV="$SHARED/models/lora/stories260K-synthetic-qv-r4"
# A second, different adapter: the same matrices at three times the scale (lora_alpha 24).
mkdir -p "$TMP/qv3"
cp "$QV/adapter_model.safetensors" "$TMP/qv3/"
sed 's/"lora_alpha": 8/"lora_alpha": 24/' "$QV/adapter_config.json" >"$TMP/qv3/adapter_config.json"

start_server "$TMP/log" -m "$M" --name stories --lora "qv=$QV" --parallel 4 --batch-tokens 8 -t 2 ||
  exit 1

curl -s "$URL/v1/models" >"$TMP/models.json"
[ "$(json_get "$TMP/models.json" "[(m['id'], m.get('parent')) for m in j['data']]")" = \
  "[('stories', None), ('stories:qv', 'stories')]" ] && ok "/v1/models lists stories:qv" ||
  bad "models: $(cat "$TMP/models.json")"

# --- load a second adapter at run time
code=$(post /v1/load_lora_adapter "{\"lora_name\":\"qv3\",\"lora_path\":\"$TMP/qv3\"}" "$TMP/load.json")
[ "$code" = 200 ] && ok "POST /v1/load_lora_adapter" || bad "load: $code $(cat "$TMP/load.json")"

prompts=("Once upon a time" "The cat sat" "Lily and Tom went to the park")
models=(stories stories:qv stories:qv3)
body() { printf '{"model":"%s","prompt":"%s","max_tokens":24,"temperature":0}' "$1" "$2"; }
answer() { json_get "$1" "j['choices'][0]['text'] + '|' + j['model']"; }

# --- each request alone
for p in "${!prompts[@]}"; do
  for m in "${!models[@]}"; do
    post /v1/completions "$(body "${models[$m]}" "${prompts[$p]}")" "$TMP/alone$p$m.json" >/dev/null
  done
done
"$BIN" run -m "$M" --lora "$QV" -p "${prompts[0]}" -n 24 --temp 0 --json >"$TMP/run.json" 2>/dev/null
[ "$(json_get "$TMP/alone01.json" "j['choices'][0]['text']")" = "$(json_get "$TMP/run.json" "j['text']")" ] &&
  ok "stories:qv = run --lora" || bad "stories:qv: $(cat "$TMP/alone01.json") vs $(cat "$TMP/run.json")"
distinct=$(for m in 0 1 2; do json_get "$TMP/alone0$m.json" "j['choices'][0]['text']"; done | sort -u | wc -l)
[ "$distinct" = 3 ] && ok "base, qv and qv3 answer differently" || bad "only $distinct distinct answers"

# --- all nine at once (twice over), mixed in the same batches
pids=()
for r in 0 1; do
  for p in "${!prompts[@]}"; do
    for m in "${!models[@]}"; do
      post /v1/completions "$(body "${models[$m]}" "${prompts[$p]}")" "$TMP/par$r$p$m.json" >/dev/null &
      pids+=($!)
    done
  done
done
wait "${pids[@]}"
same=0
for r in 0 1; do
  for p in "${!prompts[@]}"; do
    for m in "${!models[@]}"; do
      a=$(answer "$TMP/alone$p$m.json")
      b=$(answer "$TMP/par$r$p$m.json")
      [ "$a" = "$b" ] && [ ${#a} -gt 10 ] && same=$((same + 1)) || echo "  ${models[$m]} '${prompts[$p]}': '$a' vs '$b'"
    done
  done
done
[ "$same" = 18 ] && ok "18 concurrent requests over base + 2 adapters = each alone" || bad "only $same/18 identical"

# --- errors, reload and unload
code=$(post /v1/completions "$(body stories:nope hi)" "$TMP/e.json")
[ "$code" = 404 ] && grep -q "no adapter 'nope'" "$TMP/e.json" && ok "unknown adapter: 404" ||
  bad "unknown adapter: $code $(cat "$TMP/e.json")"
code=$(post /v1/load_lora_adapter '{"lora_name":"qv3","lora_path":"/nonexistent"}' "$TMP/e.json")
[ "$code" = 400 ] && ok "bad adapter path: 400" || bad "bad path: $code $(cat "$TMP/e.json")"
post /v1/completions "$(body stories:qv3 "${prompts[1]}")" "$TMP/after.json" >/dev/null
[ "$(answer "$TMP/after.json")" = "$(answer "$TMP/alone12.json")" ] && ok "a failed reload keeps the old adapter" ||
  bad "after failed reload: $(cat "$TMP/after.json")"
code=$(post /v1/load_lora_adapter '{"lora_name":"x","lora_path":"/a","rank":4}' "$TMP/e.json")
[ "$code" = 400 ] && grep -q "unknown field 'rank'" "$TMP/e.json" && ok "unknown field: 400" ||
  bad "unknown field: $code $(cat "$TMP/e.json")"
code=$(post /v1/load_lora_adapter '{"lora_name":"a b","lora_path":"/a"}' "$TMP/e.json")
[ "$code" = 400 ] && ok "invalid adapter name: 400" || bad "bad name: $code"
code=$(post /v1/load_lora_adapter "{\"lora_name\":\"qv3\",\"lora_path\":\"$QV\"}" "$TMP/e.json")
post /v1/completions "$(body stories:qv3 "${prompts[0]}")" "$TMP/reloaded.json" >/dev/null
[ "$code" = 200 ] && [ "$(json_get "$TMP/reloaded.json" "j['choices'][0]['text']")" = \
  "$(json_get "$TMP/alone01.json" "j['choices'][0]['text']")" ] && ok "hot reload under the same name" ||
  bad "reload: $code $(cat "$TMP/reloaded.json")"
code=$(post /v1/unload_lora_adapter '{"lora_name":"qv3"}' "$TMP/u.json")
code2=$(post /v1/completions "$(body stories:qv3 hi)" "$TMP/e.json")
code3=$(post /v1/unload_lora_adapter '{"lora_name":"qv3"}' "$TMP/e2.json")
[ "$code" = 200 ] && [ "$code2" = 404 ] && [ "$code3" = 404 ] && ok "unload: then 404" ||
  bad "unload: $code $code2 $code3"
post /v1/completions "$(body stories:qv "${prompts[2]}")" "$TMP/still.json" >/dev/null
[ "$(answer "$TMP/still.json")" = "$(answer "$TMP/alone21.json")" ] && ok "other adapter unaffected" ||
  bad "qv after unload of qv3: $(cat "$TMP/still.json")"

stop_server
[ "$SERVER_RC" = 0 ] && ok "clean shutdown" || bad "server exit $SERVER_RC: $(tail -3 "$TMP/log")"

# --- startup errors
expect_error "serve --lora without NAME=" serve -m "$M" --port 0 --lora "$QV"
"$BIN" serve -m "$M" --port 0 --lora "x=$TMP/none" >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '^error: ' "$TMP/err")" = 1 ] && tail -1 "$TMP/err" | grep -q "not found" &&
  ok "serve --lora missing adapter: $(tail -1 "$TMP/err")" || bad "missing adapter: exit $rc $(cat "$TMP/err")"
finish
