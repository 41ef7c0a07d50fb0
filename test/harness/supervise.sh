#!/usr/bin/env bash
# Runs one control-plane process and guarantees it does not outlive its
# owner: usage `supervise.sh <owner-pid|0> <log-file> -- command args...`.
# Stops the command (TERM, then KILL after 2 s) when the owner process is
# gone (owner 0: never), or when this supervisor gets TERM/INT/HUP. The
# command's stdout and stderr go to the log file.
set -uo pipefail
owner="$1"; log="$2"; shift 2
[[ "${1:-}" == "--" ]] && shift

"$@" >>"$log" 2>&1 &
child=$!

stop() {
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
  exit 0
}
trap stop TERM INT HUP

while kill -0 "$child" 2>/dev/null; do
  if [[ "$owner" != "0" ]] && ! kill -0 "$owner" 2>/dev/null; then stop; fi
  sleep 0.5 &
  wait $! 2>/dev/null
done
wait "$child"
exit $?
