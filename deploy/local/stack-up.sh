#!/usr/bin/env bash
# Brings up Herald's local stack, idempotently:
#   - checks Postgres and Redis answer (they are not started here) and creates the herald and
#     herald_test databases;
#   - resolves the Apache Kafka jars from Maven Central (deploy/kafka/pom.xml) into .cache/kafka/libs;
#   - formats KRaft storage once and starts a single-node broker+controller in the background
#     (pid in .run/kafka.pid, log in .cache/kafka/kafka.log), or reuses one that already answers;
#   - waits until a kafkajs admin client can create a topic.
# Every address comes from an env var; see the README table.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

KAFKA_BROKERS="${HERALD_KAFKA_BROKERS:-127.0.0.1:9092}"
FIRST_BROKER="${KAFKA_BROKERS%%,*}"
KAFKA_HOST="${FIRST_BROKER%:*}"
KAFKA_PORT="${FIRST_BROKER##*:}"
CONTROLLER_PORT="${HERALD_KAFKA_CONTROLLER_PORT:-9093}"
HEAP_OPTS="${HERALD_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_DIR="${HERALD_KAFKA_DIR:-$ROOT/.cache/kafka}"
MAVEN_REPO="${HERALD_MAVEN_REPO:-$ROOT/.cache/m2}"
LIBS="$KAFKA_DIR/libs"
DATA="$KAFKA_DIR/data"
PROPS="$KAFKA_DIR/server.properties"
LOG="$KAFKA_DIR/kafka.log"
RUN_DIR="$ROOT/.run"
PID_FILE="$RUN_DIR/kafka.pid"
POM="$ROOT/deploy/kafka/pom.xml"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { echo "stack-up: $*"; }
fail() { echo "stack-up: $*" >&2; exit 1; }

port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1; }

is_loopback() { [[ "$1" == 127.* || "$1" == localhost || "$1" == "::1" ]]; }

# The pid in the pid file, if it is a live broker started by this script from this checkout.
our_broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

[[ -d node_modules/kafkajs ]] || fail "node_modules is missing: run 'npm ci' first"
mkdir -p "$KAFKA_DIR" "$RUN_DIR"

# Several `npm test` runs may start at once: one at a time past this point.
exec 9>"$KAFKA_DIR/stack-up.lock"
command -v flock >/dev/null && flock 9

# --- Postgres and Redis: must already run; fail naming whichever does not answer.
node --import tsx scripts/check-services.ts

kafka_works() { HERALD_KAFKA_BROKERS="$KAFKA_BROKERS" HERALD_KAFKA_WAIT_MS="$1" node --import tsx scripts/wait-for-kafka.ts; }

# --- Kafka.
# A broker that answers is reused only once it takes real work: one left behind by a checkout
# that has since been deleted still answers for a few seconds, then halts on its missing log dir.
reused=false
if port_answers "$KAFKA_HOST" "$KAFKA_PORT" && ! our_broker_pid >/dev/null; then
  if kafka_works 20000 2>/dev/null; then
    say "kafka answers at $KAFKA_HOST:$KAFKA_PORT, reusing it"
    reused=true
  elif port_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
    fail "Kafka answers at $FIRST_BROKER (HERALD_KAFKA_BROKERS) but cannot create a topic; stop that broker or point HERALD_KAFKA_BROKERS elsewhere"
  else
    say "the broker that answered at $KAFKA_HOST:$KAFKA_PORT went away; starting our own"
  fi
fi

if $reused; then
  :
elif port_answers "$KAFKA_HOST" "$KAFKA_PORT"; then
  say "kafka (pid $(our_broker_pid)) answers at $KAFKA_HOST:$KAFKA_PORT, reusing it"
elif pid="$(our_broker_pid)"; then
  say "kafka (pid $pid) is still starting"
else
  is_loopback "$KAFKA_HOST" || fail "Kafka does not answer at $FIRST_BROKER (HERALD_KAFKA_BROKERS), and this script only starts a broker on a loopback address"
  command -v "$JAVA" >/dev/null || fail "java not found: the Kafka broker needs Java 17+ (set JAVA_HOME or install a JDK)"
  java_major="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${java_major%%.*}" -ge 17 ]] 2>/dev/null || fail "Kafka 4 needs Java 17+, found java.specification.version=${java_major:-unknown} at $JAVA"

  # Jars: re-resolved whenever the pom changes.
  pom_sum="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ "$(cat "$LIBS/.resolved" 2>/dev/null)" != "$pom_sum" ]]; then
    command -v mvn >/dev/null || fail "mvn not found: Maven resolves the Kafka jars (apt-get install maven)"
    say "resolving Kafka jars into $LIBS (Maven repo $MAVEN_REPO)"
    rm -rf "$LIBS"
    mvn -B -Dstyle.color=never -f "$POM" -Dmaven.repo.local="$MAVEN_REPO" \
      dependency:copy-dependencies -DoutputDirectory="$LIBS" >"$KAFKA_DIR/maven.log" 2>&1 \
      || { tail -n 30 "$KAFKA_DIR/maven.log" >&2; fail "Maven could not resolve the Kafka jars from $POM (log: $KAFKA_DIR/maven.log)"; }
    echo "$pom_sum" >"$LIBS/.resolved"
  fi

  # Written every time so that changed ports take effect; the node id and data dir never change.
  cat >"$PROPS" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA
# One node on a small (2-core) machine: replication 1 everywhere, few internal partitions.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumer groups constantly: no 3 s wait for more members before the first rebalance.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=2
log.retention.hours=24
log.segment.bytes=67108864
PROPS

  if [[ ! -f "$DATA/meta.properties" ]]; then
    say "formatting KRaft storage in $DATA"
    cluster_id="$(node -e "let s; do { s = require('crypto').randomBytes(16).toString('base64url'); } while (s.startsWith('-')); console.log(s)")"
    "$JAVA" -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.xml" -Dlog4j2.level=WARN -cp "$LIBS/*" \
      kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$PROPS" >>"$LOG" 2>&1 \
      || { tail -n 30 "$LOG" >&2; fail "formatting Kafka storage failed (log: $LOG)"; }
  fi

  port_answers "$KAFKA_HOST" "$CONTROLLER_PORT" && fail "the Kafka controller port $KAFKA_HOST:$CONTROLLER_PORT (HERALD_KAFKA_CONTROLLER_PORT) is taken by another process"

  say "starting kafka at $KAFKA_HOST:$KAFKA_PORT (log: $LOG)"
  # setsid: the broker outlives this script and its process group, so later runs reuse it.
  # 9>&-: it must not inherit the lock, or every later stack-up would wait on it forever.
  # shellcheck disable=SC2086
  setsid "$JAVA" -server $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.xml" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" </dev/null >>"$LOG" 2>&1 9>&- &
  echo $! >"$PID_FILE"
fi

# Wait for the listener (or the broker's death) before asking kafkajs, so a crash fails fast.
for _ in $(seq 1 600); do
  port_answers "$KAFKA_HOST" "$KAFKA_PORT" && break
  if [[ -f "$PID_FILE" ]] && ! our_broker_pid >/dev/null; then
    rm -f "$PID_FILE"
    tail -n 40 "$LOG" >&2 || true
    fail "the Kafka broker exited during start (log: $LOG)"
  fi
  sleep 0.2
done

$reused || kafka_works "${HERALD_KAFKA_WAIT_MS:-120000}"
say "stack is up"
