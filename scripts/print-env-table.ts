/** Prints the README's configuration tables from the config modules, so docs cannot drift. */
import { ENV_SPEC } from '../services/config/config';
import { PROVIDER_ENV_DOC } from '../services/config/provider-config';

const STACK_VARS: Array<[string, string, string]> = [
  ['HERALD_TEST_PG_URL', 'postgres://postgres@127.0.0.1:5432/herald_test', 'Database the tests use (each test file makes its own schema)'],
  ['HERALD_KAFKA_CONTROLLER_PORT', '9093', 'KRaft controller port of the local broker'],
  ['HERALD_KAFKA_HEAP_OPTS', '-Xms256m -Xmx1g', 'JVM heap of the local broker'],
  ['HERALD_KAFKA_DIR', '.cache/kafka', 'Jars, data, config and log of the local broker'],
  ['HERALD_MAVEN_REPO', '.cache/m2', 'Maven repository the Kafka jars are resolved into'],
  ['HERALD_KAFKA_WAIT_MS', '120000', 'How long stack-up waits for Kafka to accept a topic'],
  ['JAVA_HOME', 'the system java', 'JDK that runs the broker (Kafka 4 needs Java 17+)'],
];

const escape = (s: string) => s.replace(/\|/g, '\\|');
const lines: string[] = ['| variable | default | meaning |', '|---|---|---|'];
for (const [name, spec] of Object.entries(ENV_SPEC)) {
  const shown = name === 'HERALD_SCHEDULER_ID' ? '`<hostname>-<pid>`' : spec.default === '' ? '' : `\`${escape(spec.default)}\``;
  lines.push(`| \`${name}\` | ${shown} | ${escape(spec.doc)} |`);
}
for (const [name, def, doc] of STACK_VARS) lines.push(`| \`${name}\` | \`${def}\` | ${doc} |`);
lines.push('', '| provider variable | default | meaning |', '|---|---|---|');
for (const d of PROVIDER_ENV_DOC) {
  lines.push(`| \`${d.name}\` | ${d.default ? `\`${escape(d.default)}\`` : ''} | ${escape(d.description)}${d.secret ? ' (secret)' : ''} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
