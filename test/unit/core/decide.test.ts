import test from 'ava';
import { decide, retryTriggerState, seededRandom, type Effect } from '../../../core';
import {
  at,
  Driver,
  edge,
  effectTypes,
  logEvents,
  makeDelayNode,
  makeEmailNode,
  makeSmsNode,
  makeState,
  makeVersion,
  makeWorkflow,
  sends,
  T0,
  timers,
} from './core-fixtures';

const HOUR = 3_600_000;
const retryable = (reason = 'PROVIDER_UNAVAILABLE', retryAfterMs?: number) => ({
  type: 'StepFailed' as const,
  nodeId: 'welcome',
  error: { reason, message: 'try later', retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
});

test('a linear email -> delay -> sms workflow runs step by step to completion', (t) => {
  const d = new Driver();
  const started = d.send({ type: 'Started' });
  t.deepEqual(effectTypes(started), ['Log:TRIGGER_STARTED', 'Log:STEP_STARTED', 'SendEmail']);
  const [email] = sends(started);
  t.is(email.nodeId, 'welcome');
  t.is(email.attempt, 1);
  t.is(email.idempotencyKey, `${d.state.context.trigger.id}:welcome:1-1`);
  t.deepEqual(email.type === 'SendEmail' ? email.message : undefined, { to: 'ada@example.com', subject: 'Hello Ada', text: 'Hi Ada' });
  t.is(d.state.status, 'processing');
  t.is(d.state.cursor.steps.welcome.status, 'running');

  const afterEmail = d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: { messageId: 'm-1' } }, at(1000));
  t.deepEqual(effectTypes(afterEmail), ['Log:STEP_SUCCEEDED', 'Log:DELAY_SCHEDULED', 'StartTimer']);
  t.deepEqual(timers(afterEmail), [at(1000 + HOUR).toISOString()]);
  t.deepEqual(d.state.context.steps.welcome, { messageId: 'm-1' });
  t.is(d.state.cursor.steps.wait.status, 'waiting');
  t.is(d.state.wakeAt, at(1000 + HOUR).toISOString());

  const fired = d.send({ type: 'TimerFired' }, at(1000 + HOUR));
  t.deepEqual(effectTypes(fired), ['Log:TIMER_FIRED', 'Log:STEP_SUCCEEDED', 'Log:STEP_STARTED', 'SendSms']);
  const [sms] = sends(fired);
  t.deepEqual(sms.type === 'SendSms' ? sms.message : undefined, { to: '+14155550100', body: 'Hi Ada' });
  t.is(d.state.wakeAt, null);

  const done = d.send({ type: 'StepSucceeded', nodeId: 'remind', output: {} }, at(2 * HOUR));
  t.deepEqual(effectTypes(done), ['Log:STEP_SUCCEEDED', 'Log:TRIGGER_COMPLETED', 'Complete']);
  t.is(d.state.status, 'completed');
  t.deepEqual(Object.values(d.state.cursor.steps).map((s) => s.status), ['done', 'done', 'done']);
  t.deepEqual(d.state.cursor.edges, { 'welcome->wait': 'taken', 'wait->remind': 'taken' });
});

test('a step that fails twice and then succeeds is sent three times with three idempotency keys', (t) => {
  const d = new Driver();
  let now = T0.getTime();
  const keys = [sends(d.send({ type: 'Started' }, new Date(now)))[0].idempotencyKey];
  for (let failure = 1; failure <= 2; failure++) {
    const effects = d.send(retryable(), new Date(now));
    const retry = effects.find((e) => e.type === 'AppendLog' && e.entry.event === 'STEP_RETRY_SCHEDULED');
    t.truthy(retry);
    if (retry?.type === 'AppendLog') {
      t.is(retry.entry.classification, 'retryable');
      t.is(retry.entry.attempt, failure);
      t.is(retry.entry.reason, 'PROVIDER_UNAVAILABLE');
    }
    const [wakeAt] = timers(effects);
    const backoff = Date.parse(wakeAt) - now;
    t.true(backoff >= 0 && backoff <= 1000 * 2 ** (failure - 1), `backoff ${backoff}`);
    t.is(d.state.cursor.steps.welcome.status, 'waiting');
    now = Date.parse(wakeAt);
    const again = d.send({ type: 'TimerFired' }, new Date(now));
    t.deepEqual(effectTypes(again), ['Log:TIMER_FIRED', 'Log:STEP_STARTED', 'SendEmail']);
    keys.push(sends(again)[0].idempotencyKey);
  }
  d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: {} }, new Date(now));
  t.is(d.state.cursor.steps.welcome.attempts, 3);
  t.is(d.state.cursor.steps.welcome.status, 'done');
  const id = d.state.context.trigger.id;
  t.deepEqual(keys, [`${id}:welcome:1-1`, `${id}:welcome:2-1`, `${id}:welcome:3-1`]);
});

test('a step that keeps failing gives up after max attempts and fails the trigger', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  let final: Effect[] = [];
  for (let i = 0; i < 3; i++) {
    final = d.send(retryable(), at(i * 100_000));
    if (i < 2) d.send({ type: 'TimerFired' }, at(i * 100_000 + 90_000));
  }
  t.deepEqual(effectTypes(final), ['Log:STEP_FAILED', 'Log:TRIGGER_FAILED', 'Fail']);
  t.is(d.state.status, 'failed');
  t.is(d.state.cursor.steps.welcome.status, 'failed');
  t.is(d.state.cursor.steps.welcome.attempts, 3);
  t.like(final.find((e) => e.type === 'Fail'), { reason: 'ATTEMPTS_EXHAUSTED' });
});

test('a permanent failure fails the step and the trigger at once', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  const effects = d.send({ type: 'StepFailed', nodeId: 'welcome', error: { reason: 'PROVIDER_REJECTED', message: '550 no such user', retryable: false } });
  t.deepEqual(effectTypes(effects), ['Log:STEP_FAILED', 'Log:TRIGGER_FAILED', 'Fail']);
  t.like(effects[0], { entry: { classification: 'terminal', reason: 'PROVIDER_REJECTED', attempt: 1 } });
  t.like(effects[2], { type: 'Fail', reason: 'PROVIDER_REJECTED' });
  t.is(d.state.status, 'failed');
  t.is(d.state.cursor.steps.welcome.attempts, 1);
});

test('a retry honours the provider retry-after when it is longer than the backoff', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  const effects = d.send(retryable('PROVIDER_RATE_LIMITED', 30_000));
  t.deepEqual(timers(effects), [at(30_000).toISOString()]);
});

test('a node retry policy of one attempt turns a retryable failure into a final one', (t) => {
  const def = makeWorkflow({ nodes: [{ ...makeEmailNode('welcome'), retry: { maxAttempts: 1 } }, makeDelayNode('wait'), makeSmsNode('remind')] });
  const d = new Driver(makeVersion(def));
  d.send({ type: 'Started' });
  t.deepEqual(logEvents(d.send(retryable())), ['STEP_FAILED', 'TRIGGER_FAILED']);
});

test('a template that cannot render fails the trigger permanently without sending', (t) => {
  const def = makeWorkflow({ nodes: [makeEmailNode('welcome', { subject: 'Hi {{ payload.surname }}' }), makeDelayNode('wait'), makeSmsNode('remind')] });
  const d = new Driver(makeVersion(def));
  const effects = d.send({ type: 'Started' });
  t.deepEqual(effectTypes(effects), ['Log:TRIGGER_STARTED', 'Log:STEP_FAILED', 'Log:TRIGGER_FAILED', 'Fail']);
  t.like(effects[3], { type: 'Fail', reason: 'UNDEFINED_VARIABLE' });
  t.is(d.state.cursor.steps.welcome.lastError?.retryable, false);
});

test('parallel branches run one at a time and a false condition skips its whole branch', (t) => {
  // start -> vip (if payload.vip) -> vip_gift -> join ; start -> regular (if not vip) -> join
  const def = makeWorkflow({
    entryNodeId: 'start',
    nodes: [makeEmailNode('start'), makeSmsNode('vip'), makeEmailNode('vip_gift'), makeEmailNode('regular'), makeSmsNode('join')],
    edges: [edge('start', 'vip', 'payload.vip'), edge('vip', 'vip_gift'), edge('start', 'regular', 'payload.vip == false'), edge('vip_gift', 'join'), edge('regular', 'join')],
  });
  const version = makeVersion(def);
  const d = new Driver(version, makeState(version, { name: 'Ada', vip: false }));
  d.send({ type: 'Started' });
  const after = d.send({ type: 'StepSucceeded', nodeId: 'start', output: {} });
  t.deepEqual(effectTypes(after), ['Log:STEP_SUCCEEDED', 'Log:STEP_SKIPPED', 'Log:STEP_SKIPPED', 'Log:STEP_STARTED', 'SendEmail']);
  t.is(d.state.cursor.steps.vip.status, 'skipped');
  t.is(d.state.cursor.steps.vip_gift.status, 'skipped');
  t.is(sends(after)[0].nodeId, 'regular');
  t.is(d.state.cursor.steps.join.status, 'pending');
  const joined = d.send({ type: 'StepSucceeded', nodeId: 'regular', output: {} });
  t.deepEqual(sends(joined).map((s) => s.nodeId), ['join'], 'join runs: one incoming edge was taken');
  t.deepEqual(d.state.cursor.edges, {
    'start->vip': 'not_taken',
    'vip->vip_gift': 'not_taken',
    'vip_gift->join': 'not_taken',
    'start->regular': 'taken',
    'regular->join': 'taken',
  });
  d.send({ type: 'StepSucceeded', nodeId: 'join', output: {} });
  t.is(d.state.status, 'completed');
});

test('when both branches are taken they run one at a time, in node order', (t) => {
  const def = makeWorkflow({
    entryNodeId: 'start',
    nodes: [makeEmailNode('start'), makeSmsNode('b'), makeSmsNode('a'), makeEmailNode('end')],
    edges: [edge('start', 'a'), edge('start', 'b'), edge('a', 'end'), edge('b', 'end')],
  });
  const d = new Driver(makeVersion(def));
  d.send({ type: 'Started' });
  t.deepEqual(sends(d.send({ type: 'StepSucceeded', nodeId: 'start', output: {} })).map((s) => s.nodeId), ['b']);
  t.is(d.state.cursor.steps.a.status, 'ready');
  t.deepEqual(sends(d.send({ type: 'StepSucceeded', nodeId: 'b', output: {} })).map((s) => s.nodeId), ['a']);
  t.deepEqual(sends(d.send({ type: 'StepSucceeded', nodeId: 'a', output: {} })).map((s) => s.nodeId), ['end']);
});

test('a condition can route on an earlier step output', (t) => {
  const def = makeWorkflow({
    entryNodeId: 'start',
    nodes: [makeEmailNode('start'), makeSmsNode('nudge')],
    edges: [edge('start', 'nudge', 'steps.start.bounced == true')],
  });
  const d = new Driver(makeVersion(def));
  d.send({ type: 'Started' });
  const effects = d.send({ type: 'StepSucceeded', nodeId: 'start', output: { bounced: false } });
  t.deepEqual(effectTypes(effects), ['Log:STEP_SUCCEEDED', 'Log:STEP_SKIPPED', 'Log:TRIGGER_COMPLETED', 'Complete']);
});

test('recovery re-sends a running step with the same attempt and idempotency key', (t) => {
  const d = new Driver();
  const first = sends(d.send({ type: 'Started' }))[0];
  const checkpoint = d.state;
  // The process dies; a new owner rebuilds the actor from the checkpoint and starts it again.
  const recovered = decide(d.version, checkpoint, { type: 'Started' }, at(5000), { random: seededRandom(99) });
  t.deepEqual(effectTypes(recovered.effects), ['SendEmail']);
  t.deepEqual(sends(recovered.effects)[0], first);
  t.is(recovered.state.cursor.steps.welcome.attempts, 1);
});

test('recovery of a parked trigger re-arms its timer', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: {} });
  const recovered = decide(d.version, d.state, { type: 'Started' }, at(10), { random: seededRandom(1) });
  t.deepEqual(recovered.effects, [{ type: 'StartTimer', wakeAt: at(HOUR).toISOString() }]);
});

test('a timer that fires early changes nothing and re-arms the timer', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: {} });
  const before = d.state;
  const early = decide(d.version, before, { type: 'TimerFired' }, at(HOUR - 1), { random: seededRandom(1) });
  t.is(early.state, before);
  t.deepEqual(early.effects, [{ type: 'StartTimer', wakeAt: at(HOUR).toISOString() }]);
});

test('cancel stops a trigger and later events are no-ops', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  const cancelled = d.send({ type: 'Cancel', reason: 'user unsubscribed' });
  t.deepEqual(effectTypes(cancelled), ['Log:TRIGGER_CANCELLED']);
  t.is(d.state.status, 'cancelled');
  const frozen = d.state;
  for (const event of [{ type: 'StepSucceeded', nodeId: 'welcome', output: {} }, { type: 'TimerFired' }, { type: 'Started' }, { type: 'Cancel' }] as const) {
    const decision = decide(d.version, frozen, event, at(HOUR * 2), { random: seededRandom(1) });
    t.is(decision.state, frozen);
    t.deepEqual(decision.effects, []);
  }
});

test('an enqueued trigger can be cancelled before it starts', (t) => {
  const d = new Driver();
  t.deepEqual(logEvents(d.send({ type: 'Cancel' })), ['TRIGGER_CANCELLED']);
  t.is(d.state.status, 'cancelled');
});

test('a duplicate step result is ignored', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: { n: 1 } });
  const before = d.state;
  const dup = decide(d.version, before, { type: 'StepSucceeded', nodeId: 'welcome', output: { n: 2 } }, at(1), { random: seededRandom(1) });
  t.is(dup.state, before);
  t.deepEqual(dup.effects, []);
  const unknown = decide(d.version, before, { type: 'StepFailed', nodeId: 'ghost', error: { reason: 'X', message: 'x', retryable: true } }, at(1), { random: seededRandom(1) });
  t.is(unknown.state, before);
});

test('a step output that would push the context over its bound fails the trigger', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  const effects = decide(d.version, d.state, { type: 'StepSucceeded', nodeId: 'welcome', output: { blob: 'x'.repeat(2000) } }, T0, {
    random: seededRandom(1),
    limits: { maxContextBytes: 1500 },
  });
  t.like(effects.effects.find((e) => e.type === 'Fail'), { reason: 'CONTEXT_TOO_LARGE' });
  t.false('welcome' in effects.state.context.steps);
});

test('a delay until a time in the past fires at once', (t) => {
  const def = makeWorkflow({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { until: '2020-01-01T00:00:00Z' }), makeSmsNode('remind')] });
  const d = new Driver(makeVersion(def));
  d.send({ type: 'Started' });
  const effects = d.send({ type: 'StepSucceeded', nodeId: 'welcome', output: {} });
  t.deepEqual(effectTypes(effects), ['Log:STEP_SUCCEEDED', 'Log:DELAY_SCHEDULED', 'Log:STEP_SUCCEEDED', 'Log:STEP_STARTED', 'SendSms']);
});

test('decide does not mutate its input and is deterministic', (t) => {
  const version = makeVersion();
  const state = makeState(version);
  const snapshot = structuredClone(state);
  const a = decide(version, state, { type: 'Started' }, T0, { random: seededRandom(5) });
  const b = decide(version, state, { type: 'Started' }, T0, { random: seededRandom(5) });
  t.deepEqual(state, snapshot);
  t.deepEqual(a, b);
});

test('an operator retry resumes a failed trigger under a new run with new idempotency keys', (t) => {
  const d = new Driver();
  d.send({ type: 'Started' });
  d.send({ type: 'StepFailed', nodeId: 'welcome', error: { reason: 'PROVIDER_REJECTED', message: 'no', retryable: false } });
  d.state = retryTriggerState(d.state);
  const effects = d.send({ type: 'Started' }, at(HOUR));
  const [send] = sends(effects);
  t.is(send.idempotencyKey, `${d.state.context.trigger.id}:welcome:1-2`);
  t.is(d.state.status, 'processing');
});
