#!/usr/bin/env bash
# rightsize eval through a running `rightsize serve` (the URL target against our own server, a
# real second process on loopback): greedy answers and prompt token counts must equal those of
# the same model run in-process, and --compare must produce its report from the two runs.
source "$(dirname "$0")/lib.bash"
MODEL="$SHARED/models/stories260K.gguf"
SMS="$SHARED/datasets/sms_spam/test.jsonl"
[ -f "$MODEL" ] && [ -f "$SMS" ] || { echo "SKIP: shared model/data absent"; exit 77; }
# (`rightsize serve --help` alone would not tell: an unknown subcommand with --help prints the
# main help and exits 0.)
"$BIN" --help 2>/dev/null | grep -qE '^  serve ' || { echo "SKIP: this build has no 'rightsize serve'"; exit 77; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" serve -m "$MODEL" --port "$PORT" >"$TMP/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models")
  [ "$code" != "000" ] && break
  sleep 0.2
done
[ "$code" = "200" ] && ok "server up on port $PORT" || bad "server did not answer /v1/models ($code): $(tail -5 "$TMP/serve.log")"

common=(--data "$SMS" --task classify --limit 8 --max-tokens 8)
"$BIN" eval "${common[@]}" --target "http://127.0.0.1:$PORT" --api completions --concurrency 2 --warmup 1 \
  --name served --out "$TMP/served.json" >/dev/null 2>"$TMP/err" || bad "eval via serve: $(cat "$TMP/err")"
"$BIN" eval "${common[@]}" --target "$MODEL" --name in-process --out "$TMP/local.json" >/dev/null 2>"$TMP/err" ||
  bad "eval in-process: $(cat "$TMP/err")"
python3 - "$TMP/served.json" "$TMP/local.json" <<'PY' && ok "served answers and prompt tokens = in-process" || bad "served vs in-process differ"
import json, sys
s, l = (json.load(open(f)) for f in sys.argv[1:3])
assert s["target_kind"] == "http" and s["errors"]["count"] == 0, s["errors"]
so, lo = [x["output"] for x in s["samples"]], [x["output"] for x in l["samples"]]
assert so == lo, list(zip(so, lo))
assert s["tokens"]["usage_reported"] and s["tokens"]["input"] == l["tokens"]["input"], (s["tokens"], l["tokens"])
PY
# Streamed through the server (SSE): the same answers, usage from the final chunk, and a time to
# first token below each request's latency.
"$BIN" eval "${common[@]}" --target "http://127.0.0.1:$PORT" --api chat --stream --json >"$TMP/chat.json" 2>"$TMP/err" ||
  bad "streamed chat via serve: $(cat "$TMP/err")"
"$BIN" eval "${common[@]}" --target "http://127.0.0.1:$PORT" --api completions --stream --json >"$TMP/st.json" 2>"$TMP/err" ||
  bad "streamed completions via serve: $(cat "$TMP/err")"
python3 - "$TMP/st.json" "$TMP/served.json" <<'PY' && ok "streamed via serve: same answers, usage and TTFT" || bad "streamed via serve: $(head -c 600 "$TMP/st.json")"
import json, sys
st, s = (json.load(open(f)) for f in sys.argv[1:3])
assert [x["output"] for x in st["samples"]] == [x["output"] for x in s["samples"]]
assert st["tokens"]["usage_reported"] and st["tokens"] == s["tokens"], (st["tokens"], s["tokens"])
assert all(0 < x["ttft_ms"] <= x["latency_ms"] for x in st["samples"] if x["output"])
PY
"$BIN" eval --compare "$TMP/local.json" "$TMP/served.json" --html "$TMP/r.html" >"$TMP/r.md" 2>"$TMP/err" &&
  grep -q "in-process" "$TMP/r.md" && grep -q "served" "$TMP/r.html" && ok "compare in-process vs served" ||
  bad "compare: $(cat "$TMP/err")"
finish
