# Shared helpers for the end-to-end tests of the rightsize binary (sourced, not run).
set -uo pipefail
BIN="${RIGHTSIZE_BIN:?RIGHTSIZE_BIN must point at the rightsize binary}"
SHARED="${RIGHTSIZE_SHARED_DIR:-}"
if [ -z "$SHARED" ] || [ ! -d "$SHARED/oracle" ]; then
  echo "SKIP: shared/ test data not found (set RIGHTSIZE_SHARED_DIR)"
  exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
# expect_error NAME ARGS...: exit code 1, exactly one line on stderr starting with "error:",
# no crash (exit codes >= 128 mean a signal).
expect_error() {
  local name=$1
  shift
  "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$TMP/err")
  if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$lines" -eq 1 ] && grep -q '^error: ' "$TMP/err"; then
    ok "$name: $(cat "$TMP/err")"
  else
    bad "$name: exit $rc, stderr ($lines lines): $(head -c 400 "$TMP/err")"
  fi
}
# json_get FILE PYTHON_EXPR: evaluates EXPR with j = the parsed JSON.
json_get() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
