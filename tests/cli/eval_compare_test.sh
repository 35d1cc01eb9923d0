#!/usr/bin/env bash
# rightsize eval through an OpenAI-compatible URL (a fake LLM process that injects a 500 and a
# 429 first, tests/cli/eval_fake_llm.py) and against the local stories260K model, then the
# --compare decision report: its numbers recomputed here, the HTML rendered by headless Chromium
# (screenshot kept in the build folder: test-artifacts/eval_compare_report.png).
source "$(dirname "$0")/lib.bash"
MODEL="$SHARED/models/stories260K.gguf"
SMS="$SHARED/datasets/sms_spam/test.jsonl"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -f "$MODEL" ] && [ -f "$SMS" ] || { echo "SKIP: shared model/data absent"; exit 77; }
[ -x "$CHROMIUM" ] || { echo "SKIP: $CHROMIUM not installed (Debian package chromium)"; exit 77; }
ART="$(dirname "$BIN")/test-artifacts"
mkdir -p "$ART"
N=60

python3 "$(dirname "$0")/eval_fake_llm.py" "$TMP/port" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$TMP/port")/v1"

"$BIN" eval --data "$SMS" --target "$URL" --api-key test-key --model fake-llm --task classify --limit $N \
  --concurrency 4 --price-in 2.5 --price-out 10 --name hosted-llm --header "X-Test-Tag: bypass" --out "$TMP/llm.json" >"$TMP/llm.txt" 2>"$TMP/err" ||
  bad "URL target run: $(cat "$TMP/err")"
"$BIN" eval --data "$SMS" --target "$MODEL" --task classify --limit $N --price-hour 0.05 --name local-slm \
  --out "$TMP/slm.json" >/dev/null 2>"$TMP/err" || bad "local run: $(cat "$TMP/err")"

# The fake LLM's answers follow a keyword rule; recompute its accuracy and token use from the data.
python3 - "$TMP/llm.json" "$SMS" $N <<'PY' && ok "URL target: accuracy, usage tokens and cost recomputed; 500 and 429 survived" || bad "URL target numbers: $(head -c 600 "$TMP/llm.json")"
import json, sys
j = json.load(open(sys.argv[1])); n = int(sys.argv[3])
rows = [json.loads(l) for l in open(sys.argv[2])][:n]
spam = ("free", "txt", "claim", "prize", "call", "win", "urgent", "mobile", "cash", "reply")
pred = ["spam" if any(w in r["text"].lower() for w in spam) else "ham" for r in rows]
acc = sum(p == r["label"] for p, r in zip(pred, rows)) / n
tmpl = j["prompt_template"]
prompt_tokens = sum(len(tmpl.replace("{labels}", "ham, spam").replace("{text}", r["text"]).split()) for r in rows)
cost = (prompt_tokens * 2.5 + 2 * n * 10) / 1e6 / n
assert j["errors"]["count"] == 0 and j["target_kind"] == "http", j["errors"]
assert abs(j["quality"]["accuracy"] - acc) < 1e-12, (j["quality"]["accuracy"], acc)
assert [s["prediction"] for s in j["samples"]] == pred
assert j["tokens"]["input"] == prompt_tokens and j["tokens"]["output"] == 2 * n, j["tokens"]
assert abs(j["cost"]["per_request"] - cost) < 1e-15, (j["cost"], cost)
# The server's x-rightsize-* headers are kept per request and the routes counted.
assert j["routes"] == {"fake": n}, j.get("routes")
assert all(s["rightsize_headers"] == {"x-rightsize-route": "fake", "x-rightsize-cache": "bypass"} for s in j["samples"])
PY

# The same requests streamed: same answers and usage, and a time to first token below the latency.
"$BIN" eval --data "$SMS" --target "$URL" --api-key test-key --model fake-llm --task classify --limit 20 \
  --stream --json >"$TMP/stream.json" 2>"$TMP/err" || bad "streamed run: $(cat "$TMP/err")"
python3 - "$TMP/stream.json" "$TMP/llm.json" <<'PY' && ok "--stream: same answers and usage, TTFT measured" || bad "--stream: $(head -c 600 "$TMP/stream.json")"
import json, sys
s, j = (json.load(open(f)) for f in sys.argv[1:3])
assert [x["output"] for x in s["samples"]] == [x["output"] for x in j["samples"][:20]]
assert s["tokens"]["usage_reported"] and s["tokens"]["output"] == 40
assert all(0 < x["ttft_ms"] < x["latency_ms"] for x in s["samples"])
assert s["ttft_ms"]["n"] == 20 and s["ttft_ms"]["p50"] < s["latency_ms"]["p50"]
assert "ttft_ms" not in j  # not measured without --stream
PY

"$BIN" eval --compare "$TMP/slm.json" "$TMP/llm.json" --requests-per-day 25000 --max-quality-drop 2 \
  --md "$TMP/report.md" --html "$TMP/report.html" --json >"$TMP/cmp.json" 2>"$TMP/err" || bad "compare: $(cat "$TMP/err")"
python3 - "$TMP/cmp.json" "$TMP/slm.json" "$TMP/llm.json" <<'PY' && ok "comparison numbers and recommendation" || bad "comparison: $(head -c 800 "$TMP/cmp.json")"
import json, sys
c, a, b = (json.load(open(f)) for f in sys.argv[1:4])
for side, r in (("a", a), ("b", b)):
    assert abs(c[side]["monthly_cost"] - r["cost"]["per_request"] * 25000 * 30) < 1e-9
    assert c[side]["p99_ms"] == r["latency_ms"]["p99"] and c[side]["p50_ms"] == r["latency_ms"]["p50"]
    assert abs(c[side]["quality"] - 100 * r["quality"]["accuracy"]) < 1e-9
qa, qb = c["a"]["quality"], c["b"]["quality"]
cheap = "a" if c["a"]["cost_per_request"] < c["b"]["cost_per_request"] else "b"
other = "b" if cheap == "a" else "a"
want = cheap if c[other]["quality"] - c[cheap]["quality"] <= 2 else other
assert c["recommended"] == want, (c["recommended"], want)
PY

# The HTML carries the same numbers as the JSON, and renders.
python3 - "$TMP/cmp.json" "$TMP/report.html" "$TMP/report.md" <<'PY' && ok "report pages show the numbers" || bad "report pages"
import json, sys
c = json.load(open(sys.argv[1])); html = open(sys.argv[2]).read(); md = open(sys.argv[3]).read()
for s in ("a", "b"):
    for v in (f'{c[s]["quality"]:.2f}', f'{c[s]["p50_ms"]:.1f}', f'{c[s]["p99_ms"]:.1f}', f'{c[s]["requests_per_s"]:.2f}'):
        assert v in html and v in md, v
assert html.count("<svg") == 3 and "<script" not in html
assert 'src="http' not in html and 'href="http' not in html and "@import" not in html  # self-contained
assert "hosted-llm" in html and "local-slm" in html and c["headline"] in md
PY
PROFILE=$(mktemp -d)
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$PROFILE" \
  --screenshot="$ART/eval_compare_report.png" --window-size=1200,1600 "file://$TMP/report.html" >/dev/null 2>&1
rm -rf "$PROFILE"
cp "$TMP/report.html" "$ART/eval_compare_report.html"
python3 - "$ART/eval_compare_report.png" <<'PY' && ok "Chromium screenshot $ART/eval_compare_report.png" || bad "screenshot missing or blank"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1200, 1600), (w, h)
# Decode the image to count distinct colours: a blank or error page has very few.
pos, idat = 8, b""
while pos < len(data):
    n = struct.unpack(">I", data[pos:pos + 4])[0]; kind = data[pos + 4:pos + 8]
    if kind == b"IHDR": depth, ctype = data[pos + 16], data[pos + 17]
    if kind == b"IDAT": idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
colours, stride = set(), w * bpp + 1
prev = bytearray(stride - 1)
for y in range(h):  # undo the PNG row filters
    f, row = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + b) & 255
        elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        colours.update(bytes(row[i:i + 3]) for i in range(0, len(row), bpp * 2))
    prev = row
# The series colours of the charts must be on the page.
assert (0x1f, 0x6f, 0xb4) in {tuple(c) for c in colours} and (0xd9, 0x46, 0x2b) in {tuple(c) for c in colours}, "chart colours absent"
assert len(colours) > 200, len(colours)
PY

# Errors: a wrong key is not retried and names the URL and the server's message.
expect_error "wrong API key" eval --data "$SMS" --target "$URL" --api-key nope --limit 2 --warmup 1
echo '{"foo": 1}' >"$TMP/foreign.json"
expect_error "compare a foreign JSON" eval --compare "$TMP/foreign.json" "$TMP/llm.json"
finish
