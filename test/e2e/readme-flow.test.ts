import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescMethod, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { AdminServiceService, Role, type CreateApiKeyResponse } from '../../services/grpc/gen/herald/v1/admin_service';
import { ClusterServiceService } from '../../services/grpc/gen/herald/v1/cluster_service';
import { Channel, LogEvent, StepStatus, TriggerStatus, logEventToJSON, type ExecutionLogEntry } from '../../services/grpc/gen/herald/v1/trigger';
import {
  TriggerServiceService,
  type CreateTriggerResponse,
  type GetTriggerResponse,
  type ListExecutionLogsResponse,
  type ListOutboxMessagesResponse,
  type WatchTriggerResponse,
} from '../../services/grpc/gen/herald/v1/trigger_service';
import { WorkflowServiceService, type ActivateWorkflowResponse } from '../../services/grpc/gen/herald/v1/workflow_service';
import { DESCRIPTOR_SET_PATH } from '../../services/grpc/reflection/descriptor-index';
import { call, createHeraldClients, readStream, type HeraldClients } from '../support/grpc-clients';
import { flushPrefix } from '../support/scheduler-fixtures';
import { spawnHerald, type HeraldProcess } from '../support/spawn-herald';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

/**
 * The README flow as a user runs it: docs/readme-flow.md is parsed and every command in it is
 * executed, in order and with its body exactly as written, against a real spawned
 * `herald serve all`. Bodies go through a strict proto3-JSON parse against the descriptors the
 * server serves (unknown or misspelt fields fail, as in grpcurl), then through the generated
 * clients; answers become proto3 JSON again, so the doc's `jq -r` paths are checked for real.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(new URL('../../docs/readme-flow.md', import.meta.url), 'utf8');
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)));
const SERVICES: Record<string, Record<string, { path: string; requestDeserialize(b: Buffer): unknown; responseSerialize(v: never): Buffer }>> = {
  'herald.v1.WorkflowService': WorkflowServiceService,
  'herald.v1.TriggerService': TriggerServiceService,
  'herald.v1.AdminService': AdminServiceService,
  'herald.v1.ClusterService': ClusterServiceService,
};

/** One shell block of the doc: a grpcurl call, or the bootstrap CLI. */
interface DocStep {
  block: string;
  /** `pkg.Service/Method`. */
  method?: string;
  keyVar?: string;
  body?: string;
  /** An unquoted heredoc expands `$VARS`; `-d '...'` and `<<'EOF'` do not. */
  expand: boolean;
  capture?: { name: string; path: string };
  /** argv of a `NAME=$(node ...)` CLI call. */
  cli?: string[];
}

function parseDoc(markdown: string): DocStep[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => {
    const step: DocStep = { block, expand: false };
    const cli = /^(\w+)=\$\((node [^)]*)\)$/m.exec(block);
    if (cli) return { ...step, cli: cli[2].split(/\s+/), capture: { name: cli[1], path: '' } };
    const methods = [...block.matchAll(/\b([a-z][\w]*(?:\.[\w]+)*\.[A-Z]\w*\/[A-Z]\w*)\b/g)].map((m) => m[1]);
    if (methods.length !== 1) return step;
    step.method = methods[0];
    step.keyVar = /authorization: Bearer \$(\w+)/.exec(block)?.[1];
    const inline = /-d '([\s\S]*?)'/.exec(block);
    const heredoc = /<<('?)EOF'?[^\n]*\n([\s\S]*?)\nEOF\n/.exec(block);
    if (inline) step.body = inline[1];
    else if (/-d @/.test(block) && heredoc) [step.body, step.expand] = [heredoc[2], heredoc[1] === ''];
    const target = /^(\w+)=\$\(/m.exec(block)?.[1];
    const path = /jq -r '?(\.[\w.]+)'?/.exec(block)?.[1];
    if (target && path) step.capture = { name: target, path };
    return step;
  });
}

function expandVars(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, name: string) => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`docs/readme-flow.md uses $${name} before any step sets it`);
    return value;
  });
}

function jqPath(json: JsonValue, path: string): unknown {
  return path.split('.').filter(Boolean).reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], json);
}

const STEPS = parseDoc(DOC);
const PARTITIONS = 2;

let env: TestEnv;
let herald: HeraldProcess;
let address: string;
const startKey = `hk_test_${randomBytes(24).toString('base64url')}`;
const clientsByKey = new Map<string, HeraldClients>();

function clientsFor(key: string): HeraldClients {
  let clients = clientsByKey.get(key);
  if (!clients) clientsByKey.set(key, (clients = createHeraldClients(address, key)));
  return clients;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.before(async () => {
  env = await createTestEnv('e2e_readme_flow', { HERALD_PARTITIONS: String(PARTITIONS) });
  address = `127.0.0.1:${await freePort()}`;
  herald = await spawnHerald('all', {
    ...env.env,
    HERALD_GRPC_ADDR: address,
    HERALD_API_URL: address,
    HERALD_BOOTSTRAP_ADMIN_KEY: startKey,
  });
  // A user waits for "herald ready"; the test also waits until the scheduler owns every
  // partition, so WatchTrigger's server deadline is not spent on the first group join.
  await pollUntil(() => herald.countLogs('partition recovered') >= PARTITIONS, { timeoutMs: 60_000, what: 'every partition to be owned' });
});

test.after.always(async () => {
  for (const clients of clientsByKey.values()) clients.close();
  await herald?.stop();
  if (env) {
    await flushPrefix(env.config.redis.url, env.config.redis.prefix);
    await env.cleanup();
  }
});

interface Executed {
  step: DocStep;
  response: unknown;
  json: JsonValue;
}

/** Runs one doc step the way grpcurl would, returning the typed answer and its proto3 JSON. */
async function execute(step: DocStep, vars: Map<string, string>): Promise<Executed> {
  const [serviceName, methodName] = step.method!.split('/');
  const method: DescMethod | undefined = registry.getService(serviceName)?.methods.find((m) => m.name === methodName);
  if (!method) throw new Error(`docs/readme-flow.md names ${step.method}, which the served descriptors do not have`);
  const text = step.body === undefined ? '{}' : step.expand ? expandVars(step.body, vars) : step.body;
  // Strict, like grpcurl: an unknown or misspelt field name throws here.
  const message = fromJson(method.input, JSON.parse(text) as JsonValue);
  const definition = Object.values(SERVICES[serviceName]).find((d) => d.path === `/${step.method}`)!;
  const request = definition.requestDeserialize(Buffer.from(toBinary(method.input, message)));
  const clients = clientsFor(vars.get(step.keyVar ?? '') ?? '');
  const client = { 'herald.v1.WorkflowService': clients.workflows, 'herald.v1.TriggerService': clients.triggers, 'herald.v1.AdminService': clients.admin, 'herald.v1.ClusterService': clients.cluster }[serviceName]!;
  const rpc = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[methodName[0].toLowerCase() + methodName.slice(1)];
  const toJsonOf = (value: unknown) => toJson(method.output, fromBinary(method.output, definition.responseSerialize(value as never)));
  if (method.methodKind === 'server_streaming') {
    const items = await readStream(rpc.call(client, request) as grpc.ClientReadableStream<unknown>);
    return { step, response: items, json: items.map(toJsonOf) };
  }
  const response = await call(client as grpc.Client, rpc as never, request);
  return { step, response, json: toJsonOf(response) };
}

const eventOf = (entry: ExecutionLogEntry) => `${logEventToJSON(entry.event).replace(/^LOG_EVENT_/, '')}${entry.nodeId ? `:${entry.nodeId}` : ''}`;

test.serial('the grpcurl flow of docs/readme-flow.md runs as written: keys, the welcome workflow, a watched trigger, its log and its outbox', async (t) => {
  const vars = new Map<string, string>();
  const done: Executed[] = [];
  for (const step of STEPS) {
    if (step.cli) {
      t.deepEqual(step.cli, ['node', '--import', 'tsx', 'services/cli/herald.ts', 'admin', 'bootstrap']);
      const { stdout } = await promisify(execFile)(process.execPath, step.cli.slice(1), { cwd: ROOT, env: { ...process.env, ...env.env } });
      t.regex(stdout, /^\S{22,}\n$/, 'admin bootstrap prints only the secret, on one line');
      vars.set(step.capture!.name, stdout.trim());
      continue;
    }
    if (!step.method?.startsWith('herald.v1.')) continue;
    const executed = await execute(step, vars);
    done.push(executed);
    if (step.capture) {
      const value = jqPath(executed.json, step.capture.path);
      t.true(typeof value === 'string' && value !== '', `jq -r ${step.capture.path} on ${step.method} gives ${JSON.stringify(value)}`);
      vars.set(step.capture.name, value as string);
    }
  }
  const answers = <T>(method: string) => done.filter((d) => d.step.method === `herald.v1.${method}`).map((d) => d.response as T);

  t.deepEqual([...vars.keys()], ['ADMIN_KEY', 'MANAGER_KEY', 'OPERATOR_KEY', 'WORKFLOW_ID', 'ETAG', 'TRIGGER_ID']);
  t.deepEqual(answers<CreateApiKeyResponse>('AdminService/CreateApiKey').map((a) => a.apiKey?.role), [Role.ROLE_WORKFLOW_MANAGER, Role.ROLE_TRIGGER_OPERATOR]);
  const [activated] = answers<ActivateWorkflowResponse>('WorkflowService/ActivateWorkflow');
  t.true(activated.workflow?.active);
  const [created] = answers<CreateTriggerResponse>('TriggerService/CreateTrigger');
  t.false(created.deduplicated);
  const triggerId = vars.get('TRIGGER_ID')!;

  // The watch ends by itself at the terminal state, with the whole ordered log.
  const watched = answers<WatchTriggerResponse[]>('TriggerService/WatchTrigger')[0].map((r) => r.entry!);
  const expected = [
    'TRIGGER_ACCEPTED',
    'TRIGGER_STARTED',
    'STEP_STARTED:welcome_email',
    'STEP_SUCCEEDED:welcome_email',
    'DELAY_SCHEDULED:wait',
    'TIMER_FIRED:wait',
    'STEP_SUCCEEDED:wait',
    'STEP_STARTED:nudge_sms',
    'STEP_SUCCEEDED:nudge_sms',
    'TRIGGER_COMPLETED',
  ];
  t.deepEqual(watched.map(eventOf), expected);
  t.true(watched.every((e, i) => i === 0 || BigInt(e.id) > BigInt(watched[i - 1].id)), 'entries arrive in log order');
  const scheduled = watched.find((e) => e.event === LogEvent.LOG_EVENT_DELAY_SCHEDULED)!;
  const fired = watched.find((e) => e.event === LogEvent.LOG_EVENT_TIMER_FIRED)!;
  t.true(fired.createTime!.getTime() >= scheduled.wakeTime!.getTime(), 'the one-second delay never fires early');

  const [{ trigger: got }] = answers<GetTriggerResponse>('TriggerService/GetTrigger');
  t.is(got?.status, TriggerStatus.TRIGGER_STATUS_COMPLETED);
  t.deepEqual(
    got?.steps.map((s) => [s.nodeId, s.status, s.attempts]).sort(),
    [
      ['nudge_sms', StepStatus.STEP_STATUS_DONE, 1],
      ['wait', StepStatus.STEP_STATUS_DONE, 1],
      ['welcome_email', StepStatus.STEP_STATUS_DONE, 1],
    ].sort(),
  );
  const [logs] = answers<ListExecutionLogsResponse>('TriggerService/ListExecutionLogs');
  t.deepEqual(logs.entries.map((e) => e.id), watched.map((e) => e.id), 'the stored log is exactly what was watched');

  const [outbox] = answers<ListOutboxMessagesResponse>('TriggerService/ListOutboxMessages');
  const byNode = Object.fromEntries(outbox.outboxMessages.map((m) => [m.nodeId, m]));
  t.deepEqual(Object.keys(byNode).sort(), ['nudge_sms', 'welcome_email']);
  t.is(byNode.welcome_email.channel, Channel.CHANNEL_EMAIL);
  t.like(byNode.welcome_email.message, {
    to: 'ada@example.com',
    from: 'Herald <welcome@example.com>',
    subject: 'Welcome, Ada',
    text: 'Hi Ada, your pro plan is ready.',
  });
  t.is(byNode.nudge_sms.channel, Channel.CHANNEL_SMS);
  t.deepEqual(byNode.nudge_sms.message, { to: '+15555550100', body: 'Ada, check your inbox!' });
  t.true(outbox.outboxMessages.every((m) => m.triggerId === triggerId));

  // "Running the same command again is safe": the doc's CreateTrigger, once more.
  const again = await execute(done.find((d) => d.step.method === 'herald.v1.TriggerService/CreateTrigger')!.step, vars);
  const repeat = again.response as CreateTriggerResponse;
  t.true(repeat.deduplicated);
  t.is(repeat.trigger!.id, triggerId);
  t.is(repeat.trigger!.status, TriggerStatus.TRIGGER_STATUS_COMPLETED);
  t.is((again.json as { deduplicated?: boolean }).deduplicated, true, 'grpcurl prints "deduplicated": true');
});

test.serial('every other service method the doc names exists in the descriptors the server serves', (t) => {
  const others = STEPS.filter((s) => s.block.includes('grpcurl') && !s.method?.startsWith('herald.v1.'));
  const named = others.flatMap((s) => [...s.block.matchAll(/\b([a-z]\w*(?:\.\w+)*\.[A-Z]\w*)\/([A-Z]\w*)\b/g)]);
  t.true(named.length > 0);
  for (const [, service, method] of named) t.truthy(registry.getService(service)?.methods.find((m) => m.name === method), `${service}/${method}`);
});

test.serial('the key given as HERALD_BOOTSTRAP_ADMIN_KEY at start is a working systemAdmin key', async (t) => {
  const { admin } = clientsFor(startKey);
  const { apiKeys } = await call(admin, admin.listApiKeys, { pageSize: 100, pageToken: '' });
  t.true(apiKeys.some((k) => k.role === Role.ROLE_SYSTEM_ADMIN), 'only a systemAdmin may list keys, and one exists');
});

test.serial('SIGTERM stops herald serve all with exit code 0', async (t) => {
  herald.kill('SIGTERM');
  const exit = await pollUntil(() => (herald.isRunning() ? null : herald.exited), { timeoutMs: 30_000, what: 'herald to exit after SIGTERM' });
  t.deepEqual(exit, { code: 0, signal: null }, `last output: ${herald.rawLines.slice(-5).join(' | ')}`);
  t.true(herald.countLogs('stopped') >= 1, 'it logged a clean stop');
});
