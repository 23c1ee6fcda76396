#!/usr/bin/env bash
# Runs every ava suite under a wall-clock watchdog. ava's own inactivity timeout catches a stuck test,
# but nothing catches a stuck run (a worker that never exits, a broker that died under it), and a
# run that hangs tells CI nothing. Past HERALD_TEST_WALL_CLOCK, ava gets SIGINT, so it reports the
# tests still pending, and we print what was still running.
# --foreground: under a terminal, ava stays in the foreground process group (no SIGTTIN stops).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

limit="${HERALD_TEST_WALL_CLOCK:-25m}"
timeout --foreground --signal=INT --kill-after=30s "$limit" node_modules/.bin/ava "$@"
status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
  echo "run-tests: the suites did not finish within $limit (HERALD_TEST_WALL_CLOCK); still running:" >&2
  ps -eo pid,ppid,etime,args --sort=start_time | grep -E '[n]ode|[j]ava' | cut -c1-220 >&2 || true
  kafka_log="${HERALD_KAFKA_DIR:-.cache/kafka}/kafka.log"
  if [[ -f "$kafka_log" ]]; then
    echo "run-tests: last lines of $kafka_log:" >&2
    tail -n 20 "$kafka_log" >&2
  fi
fi
exit $status
