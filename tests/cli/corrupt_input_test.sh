#!/usr/bin/env bash
# Corrupt model files and bad input end in a one-line error and a non-zero exit, never a crash.
source "$(dirname "$0")/lib.bash"
M="$SHARED/oracle/models/llama-spm-q8_0.gguf"
size=$(stat -c %s "$M")

head -c $((size / 2)) "$M" >"$TMP/truncated.gguf"
expect_error "truncated file" run -m "$TMP/truncated.gguf" -p hi -n 1
head -c 100 "$M" >"$TMP/short.gguf"
expect_error "truncated header" info "$TMP/short.gguf"
{ printf 'GGUX'; tail -c +5 "$M"; } >"$TMP/magic.gguf"
expect_error "wrong magic" run -m "$TMP/magic.gguf" -p hi
printf '' >"$TMP/empty.gguf"
expect_error "empty file" run -m "$TMP/empty.gguf" -p hi
expect_error "missing file" run -m "$TMP/nope.gguf" -p hi
expect_error "directory without config.json" run -m "$TMP" -p hi

# Mutate one tensor info: locate 'token_embd.weight' in the header and patch the fields after it
# (u32 n_dims, u64 ne0, u64 ne1, u32 type, u64 offset).
patch() {  # patch OUT FIELD_OFFSET FORMAT VALUE
  python3 - "$M" "$1" "$2" "$3" "$4" <<'PY'
import struct, sys
src, out, field, fmt, val = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
b = bytearray(open(src, 'rb').read())
name = b'token_embd.weight'
i = b.find(struct.pack('<Q', len(name)) + name) + 8 + len(name)
struct.pack_into(fmt, b, i + field, val)
open(out, 'wb').write(b)
PY
}
patch "$TMP/past_end.gguf" 24 '<Q' $((1 << 40))
expect_error "tensor pointing past the end" run -m "$TMP/past_end.gguf" -p hi
patch "$TMP/absurd_dim.gguf" 4 '<Q' $((1 << 61))
expect_error "absurd dimension" run -m "$TMP/absurd_dim.gguf" -p hi
patch "$TMP/unknown_type.gguf" 20 '<I' 99
expect_error "unknown tensor type" info "$TMP/unknown_type.gguf"
patch "$TMP/unsupported_type.gguf" 20 '<I' 3   # Q4_1: valid GGUF, but not computed by rightsize
expect_error "unsupported tensor type" run -m "$TMP/unsupported_type.gguf" -p hi
patch "$TMP/wrong_shape.gguf" 4 '<Q' 128
expect_error "shape disagrees with metadata" run -m "$TMP/wrong_shape.gguf" -p hi

# A metadata value with an absurd head count.
python3 - "$M" "$TMP/heads.gguf" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
key = b'llama.attention.head_count'
i = b.find(struct.pack('<Q', len(key)) + key) + 8 + len(key)
struct.pack_into('<I', b, i + 4, 7)  # after the u32 type tag: 7 heads do not divide 256
open(sys.argv[2], 'wb').write(b)
PY
expect_error "inconsistent hyper-parameters" run -m "$TMP/heads.gguf" -p hi

# Bad input text and ids.
S="$SHARED/models/stories260K.gguf"
expect_error "invalid UTF-8 prompt" run -m "$S" -p "$(printf 'ab\xffcd')"
expect_error "invalid UTF-8 tokenize" tokenize -m "$S" -p "$(printf '\xc3\x28')"
expect_error "token id outside vocabulary" run -m "$S" --ids 1,99999
expect_error "malformed ids" run -m "$S" --ids 1,x
expect_error "context overflow" run -m "$S" -p "Once upon a time" -c 3
expect_error "embed on a generative model" embed -m "$S" -p hi
expect_error "unknown chat template name" run -m "$S" -p hi --chat-template nonsense

# Corrupt safetensors in a Hugging Face folder.
mkdir -p "$TMP/hf"
cp "$SHARED/models/stories260K-hf/config.json" "$TMP/hf/"
head -c 5000 "$SHARED/models/stories260K-hf/model.safetensors" >"$TMP/hf/model.safetensors"
expect_error "truncated safetensors" run -m "$TMP/hf" --ids 1 -n 1
echo '{"model_type": "llama",' >"$TMP/hf/config.json"
expect_error "malformed config.json" run -m "$TMP/hf" --ids 1 -n 1

# Usage errors: exit code 106 (CLI11's) or similar, but never a crash.
"$BIN" run >/dev/null 2>&1; rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && ok "missing -m is a usage error ($rc)" || bad "missing -m: exit $rc"
finish
