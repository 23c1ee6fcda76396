#!/usr/bin/env bash
# Stops the Kafka broker that deploy/local/stack-up.sh started from this checkout (its pid file),
# and nothing else: a broker started some other way, Postgres and Redis are left alone. Idempotent.
#   --purge  also deletes the broker's data (.cache/kafka/data: every topic the tests left behind);
#            the jars stay cached, and the next stack-up formats fresh storage.
set -euo pipefail

PURGE=false
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=true ;;
    *) echo "usage: stack-down.sh [--purge]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_DIR="${HERALD_KAFKA_DIR:-$ROOT/.cache/kafka}"
PROPS="$KAFKA_DIR/server.properties"
PID_FILE="$ROOT/.run/kafka.pid"

purge() {
  if $PURGE; then
    rm -rf "$KAFKA_DIR/data"
    echo "stack-down: deleted $KAFKA_DIR/data"
  fi
}

if [[ ! -f "$PID_FILE" ]]; then
  echo "stack-down: no broker started by stack-up.sh is running"
  purge
  exit 0
fi
pid="$(cat "$PID_FILE")"
# Only our broker: the pid must still belong to `kafka.Kafka <our props>` (pids get reused).
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "kafka.Kafka $PROPS"; then
  echo "stack-down: pid file was stale (pid $pid is not our broker); removing it"
  rm -f "$PID_FILE"
  purge
  exit 0
fi

echo "stack-down: stopping kafka (pid $pid)"
kill -TERM "$pid"
# A controlled shutdown flushes logs and takes a few seconds; give it up to 60 s.
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
  echo "stack-down: kafka did not stop within 60 s; killing it"
  kill -KILL "$pid"
fi
rm -f "$PID_FILE"
echo "stack-down: stopped"
purge
