import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { startApi } from '../../services/api/main';
import { loadConfig } from '../../services/config/config';
import type { ExecutionLogEntry } from '../../services/grpc/gen/herald/v1/trigger';
import { ErrorClassification, LogEvent, TriggerStatus, logEventToJSON } from '../../services/grpc/gen/herald/v1/trigger';
import { NodeType, type Workflow } from '../../services/grpc/gen/herald/v1/workflow';
import { IDEMPOTENCY_HEADER, messageIdFor, SIGNATURE_HEADER, verifyWebhookSignature, type WebhookSmsBody } from '../../services/providers';
import { startScheduler } from '../../services/scheduler/main';
import { createLogger } from '../../services/telemetry/logger';
import { call, createHeraldClients, type HeraldClients } from '../support/grpc-clients';
import { startHttpSink, type HttpSink } from '../support/http-sink';
import { flushPrefix } from '../support/scheduler-fixtures';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { createTestEnv, pollUntil, type TestEnv } from '../support/test-env';

/**
 * The whole delivery chain, end to end: a trigger accepted by the real api, run by the real
 * scheduler, delivered by the REAL providers (built by the provider factory from env config)
 * to real protocol servers on loopback. The SMTP relay defers the first attempt with 451; the
 * scheduler's retry policy sends attempt 2, which is delivered, then the SMS goes out.
 */

const FROM = 'Herald <welcome@herald.test>';
const REPLY_TO = 'support@herald.test';
const RECIPIENT = { id: 'user-ada', email: 'ada@example.com', phone: '+15550100', locale: 'en-GB', timezone: 'Europe/London' };
const PAYLOAD = { name: 'Ada', plan: 'pro' };

interface Chain {
  env: TestEnv;
  smtp: SmtpSink;
  http: HttpSink;
  clients: HeraldClients;
}

/** api + scheduler in this process, with provider env pointing at this test's own sinks. */
async function startChain(t: ExecutionContext, name: string, smsEnv: (http: HttpSink) => Record<string, string>, twilio?: { accountSid: string; authToken: string }): Promise<Chain> {
  const smtp = await startSmtpSink();
  const http = await startHttpSink({ twilio });
  const adminKey = `hk_test_${randomBytes(24).toString('base64url')}`;
  const env = await createTestEnv(name, {
    HERALD_GRPC_ADDR: '127.0.0.1:0',
    HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
    HERALD_PARTITIONS: '2',
    HERALD_EMAIL_PROVIDER: 'smtp',
    HERALD_SMTP_HOST: smtp.host,
    HERALD_SMTP_PORT: String(smtp.port),
    HERALD_EMAIL_DEFAULT_FROM: 'Herald <noreply@herald.test>',
    HERALD_MESSAGE_ID_DOMAIN: 'mail.herald.test',
    ...smsEnv(http),
  });
  // The same path the CLI takes: env -> loadConfig -> createProviders inside startScheduler.
  const config = loadConfig({ ...process.env, ...env.env });
  t.is(config.providers.email.kind, 'smtp');
  const logger = createLogger(config.logLevel, `test-${name}`);
  const api = await startApi(config, logger);
  const scheduler = await startScheduler(config, logger);
  const clients = createHeraldClients(api.address, adminKey);
  t.teardown(async () => {
    clients.close();
    await scheduler.stop();
    await api.stop();
    await smtp.close();
    await http.close();
    await flushPrefix(config.redis.url, config.redis.prefix);
    await env.cleanup();
  });
  return { env, smtp, http, clients };
}

function makeChainWorkflow(): Workflow {
  return {
    id: '',
    name: 'delivery chain',
    description: 'email, then sms, with a fast retry policy',
    version: 0,
    active: false,
    entryNodeId: 'welcome',
    nodes: [
      {
        id: 'welcome',
        type: NodeType.NODE_TYPE_EMAIL,
        config: {
          $case: 'email',
          email: { to: '{{ recipient.email }}', subject: 'Hi {{ payload.name }}', text: 'Welcome, {{ payload.name }}!', html: '', from: '', replyTo: '' },
        },
      },
      { id: 'remind', type: NodeType.NODE_TYPE_SMS, config: { $case: 'sms', sms: { to: '{{ recipient.phone }}', body: 'Your {{ payload.plan }} plan is ready, {{ payload.name }}.' } } },
    ],
    edges: [{ from: 'welcome', to: 'remind', condition: '' }],
    retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 400 },
    defaultFrom: FROM,
    defaultReplyTo: REPLY_TO,
    etag: '',
  };
}

/** Creates and activates the workflow, fires one trigger, and waits until it is terminal. */
async function runTrigger({ clients }: Chain) {
  const { workflows, triggers } = clients;
  const created = await call(workflows, workflows.createWorkflow, { workflow: makeChainWorkflow() });
  const workflow = created.workflow!;
  await call(workflows, workflows.activateWorkflow, { id: workflow.id, etag: workflow.etag });
  const accepted = await call(triggers, triggers.createTrigger, {
    workflowId: workflow.id,
    idempotencyKey: `order-${randomBytes(4).toString('hex')}`,
    recipient: RECIPIENT,
    payload: PAYLOAD,
  });
  const id = accepted.trigger!.id;
  const trigger = await pollUntil(
    async () => {
      const { trigger } = await call(triggers, triggers.getTrigger, { id });
      return trigger && [TriggerStatus.TRIGGER_STATUS_COMPLETED, TriggerStatus.TRIGGER_STATUS_FAILED].includes(trigger.status) ? trigger : null;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `trigger ${id} to finish` },
  );
  const { entries } = await call(triggers, triggers.listExecutionLogs, { triggerId: id, pageSize: 100, pageToken: '', workflowId: '' });
  return { workflow, trigger, entries };
}

const eventName = (entry: ExecutionLogEntry) => logEventToJSON(entry.event).replace(/^LOG_EVENT_/, '');
const describeEntry = (entry: ExecutionLogEntry) => `${eventName(entry)}${entry.nodeId ? `:${entry.nodeId}` : ''}${entry.attempt ? `#${entry.attempt}` : ''}`;

/** The retry story every chain must tell, whatever the SMS provider. */
function assertDeferredThenDelivered(t: ExecutionContext, chain: Chain, run: Awaited<ReturnType<typeof runTrigger>>): void {
  const { smtp } = chain;
  const { trigger, entries } = run;
  t.is(trigger.status, TriggerStatus.TRIGGER_STATUS_COMPLETED, `trigger ended ${trigger.status}: ${JSON.stringify(trigger.lastError)}`);
  t.deepEqual(entries.map(describeEntry), [
    'TRIGGER_ACCEPTED',
    'TRIGGER_STARTED',
    'STEP_STARTED:welcome#1',
    'STEP_RETRY_SCHEDULED:welcome#1',
    'TIMER_FIRED:welcome',
    'STEP_STARTED:welcome#2',
    'STEP_SUCCEEDED:welcome#2',
    'STEP_STARTED:remind#1',
    'STEP_SUCCEEDED:remind#1',
    'TRIGGER_COMPLETED',
  ]);

  // Attempt 1: deferred by the relay, classified retryable, with the reason and the next wake time.
  const retry = entries.find((e) => e.event === LogEvent.LOG_EVENT_STEP_RETRY_SCHEDULED)!;
  t.is(retry.classification, ErrorClassification.ERROR_CLASSIFICATION_RETRYABLE);
  t.is(retry.reason, 'PROVIDER_UNAVAILABLE');
  t.truthy(retry.wakeTime, 'the retry names its next wake time');
  const secondStart = entries.find((e) => e.event === LogEvent.LOG_EVENT_STEP_STARTED && e.nodeId === 'welcome' && e.attempt === 2)!;
  t.true(secondStart.createTime!.getTime() >= retry.wakeTime!.getTime(), 'attempt 2 never starts before the scheduled wake time');
  t.deepEqual(smtp.failures, [{ code: 451, phase: 'data', to: [RECIPIENT.email] }]);

  // Attempt 2: delivered exactly once, identified by attempt 2's idempotency key.
  t.is(smtp.received.length, 1, 'the relay accepted exactly one message');
  const mail = smtp.received[0];
  const key = `${trigger.id}:welcome:2-${trigger.run}`;
  t.deepEqual(mail.envelope, { from: 'welcome@herald.test', to: [RECIPIENT.email] });
  t.is(smtp.header(mail, 'message-id'), messageIdFor(key, 'mail.herald.test'));
  t.is(smtp.header(mail, IDEMPOTENCY_HEADER), key);
  t.is(smtp.header(mail, 'from'), FROM, 'the workflow default from wins over the env default');
  t.is(smtp.header(mail, 'reply-to'), REPLY_TO);
  t.is(smtp.header(mail, 'subject'), 'Hi Ada');
  t.regex(mail.body, /Welcome, Ada!/);
  t.is(trigger.stepOutputs?.welcome?.provider_message_id, messageIdFor(key, 'mail.herald.test'), 'the step output records the Message-ID');
}

test('an email deferred with 451 is retried and delivered once, then the sms goes out through the twilio provider', async (t) => {
  const twilio = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') };
  const chain = await startChain(
    t,
    'e2e_chain_twilio',
    (http) => ({
      HERALD_SMS_PROVIDER: 'twilio',
      HERALD_TWILIO_BASE_URL: http.baseUrl,
      HERALD_TWILIO_ACCOUNT_SID: twilio.accountSid,
      HERALD_TWILIO_AUTH_TOKEN: twilio.authToken,
      HERALD_TWILIO_FROM: '+15550199',
    }),
    twilio,
  );
  chain.smtp.failNext({ code: 451, message: '4.7.1 Greylisted, try again later' });
  const run = await runTrigger(chain);
  assertDeferredThenDelivered(t, chain, run);

  t.is(chain.http.requests.length, 1, 'one sms request, accepted the first time');
  const [request] = chain.http.delivered;
  t.is(request.method, 'POST');
  t.is(request.path, `/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`);
  t.is(request.basicAuth, `${twilio.accountSid}:${twilio.authToken}`);
  t.deepEqual(request.form, { To: RECIPIENT.phone, Body: 'Your pro plan is ready, Ada.', From: '+15550199' });
  t.is(request.headers['idempotency-key'], `${run.trigger.id}:remind:1-${run.trigger.run}`);
  t.regex(String(run.trigger.stepOutputs?.remind?.provider_message_id), /^SM[0-9a-f]{32}$/, 'the twilio SID is the step output');
});

test('an email deferred with 451 is retried and delivered once, then the sms goes out through the signed webhook provider', async (t) => {
  const secret = randomBytes(24).toString('hex');
  const chain = await startChain(t, 'e2e_chain_webhook', (http) => ({
    HERALD_SMS_PROVIDER: 'webhook',
    HERALD_SMS_WEBHOOK_URL: http.webhookUrl,
    HERALD_SMS_WEBHOOK_SECRET: secret,
  }));
  chain.smtp.failNext({ code: 451, message: '4.3.0 Mailbox temporarily unavailable' });
  const run = await runTrigger(chain);
  assertDeferredThenDelivered(t, chain, run);

  t.is(chain.http.requests.length, 1, 'one webhook request, accepted the first time');
  const [request] = chain.http.delivered;
  const key = `${run.trigger.id}:remind:1-${run.trigger.run}`;
  t.is(request.method, 'POST');
  t.is(request.path, '/sms-webhook');
  t.is(request.headers['content-type'], 'application/json');
  t.is(request.headers['idempotency-key'], key);
  const signature = request.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined;
  t.true(verifyWebhookSignature(secret, signature, request.rawBody), `signature ${signature} verifies over the raw body`);
  t.false(verifyWebhookSignature('another-secret', signature, request.rawBody), 'a different secret does not verify');
  t.false(verifyWebhookSignature(secret, signature, `${request.rawBody} `), 'a tampered body does not verify');
  const body: WebhookSmsBody = {
    to: RECIPIENT.phone,
    body: 'Your pro plan is ready, Ada.',
    trigger_id: run.trigger.id,
    workflow_id: run.workflow.id,
    node_id: 'remind',
    attempt: 1,
    run: run.trigger.run,
    idempotency_key: key,
  };
  t.deepEqual(request.json, body);
});

// Issue 6: the log keeps the provider's code and message, redacted by the adapter.
test('the retry log row keeps the relay reply code and text of the deferred attempt', async (t) => {
  const chain = await startChain(t, 'e2e_chain_reply', () => ({}));
  chain.smtp.failNext({ code: 451, message: '4.7.1 Greylisted by relay-42' });
  const { trigger, entries } = await runTrigger(chain);
  t.is(trigger.status, TriggerStatus.TRIGGER_STATUS_COMPLETED);
  const retry = entries.find((e) => e.event === LogEvent.LOG_EVENT_STEP_RETRY_SCHEDULED);
  const text = JSON.stringify({ message: retry?.message, data: retry?.data });
  t.true(text.includes('451') && text.includes('Greylisted by relay-42'), `the retry row lost the provider's code and message: ${text}`);
});
