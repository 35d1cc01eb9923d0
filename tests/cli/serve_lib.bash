# Helpers for the server end-to-end tests (sourced after lib.bash).
# start_server LOG ARGS...: starts `rightsize serve --port 0 ARGS` in the background, waits until
# it listens, and sets SERVER_PID and URL.
start_server() {
  local log=$1
  shift
  "$BIN" serve --port 0 "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    local port
    port=$(sed -n 's#.*listening on http://[^:]*:\([0-9]*\).*#\1#p' "$log" | head -1)
    if [ -n "$port" ]; then
      URL="http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited: $(cat "$log")"; return 1; }
    sleep 0.1
  done
  echo "server did not start: $(cat "$log")"
  return 1
}
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_RC=$?
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT
# post PATH BODY OUT: POST JSON, writes the body to OUT, prints the HTTP status.
post() { curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' "${@:4}" -d "$2" "$URL$1"; }
# metric NAME_WITH_LABELS: the value of one sample from /metrics ("" when absent).
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
