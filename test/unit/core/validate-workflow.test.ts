import test from 'ava';
import { DEFAULT_WORKFLOW_LIMITS, validateWorkflow, type ReasonCode, type WorkflowDefinition } from '../../../core';
import { edge, makeDelayNode, makeEmailNode, makeSmsNode, makeWorkflow } from './core-fixtures';

test('the onboarding fixture is a valid workflow', (t) => {
  t.deepEqual(validateWorkflow(makeWorkflow()), []);
});

test('the default limits are 200 nodes, 64 KiB templates and 365 days of delay', (t) => {
  t.deepEqual({ ...DEFAULT_WORKFLOW_LIMITS }, { maxNodes: 200, maxTemplateBytes: 65_536, maxDelayMs: 365 * 86_400_000 });
});

interface Case {
  title: string;
  def: WorkflowDefinition;
  /** Expected violations as `path: REASON`; empty means valid. */
  expect: string[];
}

const w = makeWorkflow;
const cases: Case[] = [
  // names
  { title: 'a missing name', def: w({ name: '' }), expect: ['name: MISSING_FIELD'] },
  { title: 'a blank name', def: w({ name: '   ' }), expect: ['name: MISSING_FIELD'] },
  { title: 'an overlong name', def: w({ name: 'x'.repeat(201) }), expect: ['name: INVALID_VALUE'] },
  // node ids
  { title: 'slug ids with digits, dashes and underscores', def: w({ entryNodeId: 'a1_b-c', nodes: [makeEmailNode('a1_b-c')], edges: [] }), expect: [] },
  { title: 'a 63-character id', def: w({ entryNodeId: 'a'.repeat(63), nodes: [makeEmailNode('a'.repeat(63))], edges: [] }), expect: [] },
  { title: 'a 64-character id', def: w({ entryNodeId: 'a'.repeat(64), nodes: [makeEmailNode('a'.repeat(64))], edges: [] }), expect: ['nodes[0].id: INVALID_NODE_ID', 'entry_node_id: ENTRY_NODE_MISSING'] },
  { title: 'an upper-case id', def: w({ entryNodeId: 'Welcome', nodes: [makeEmailNode('Welcome')], edges: [] }), expect: ['nodes[0].id: INVALID_NODE_ID', 'entry_node_id: ENTRY_NODE_MISSING'] },
  { title: 'an id starting with a digit', def: w({ entryNodeId: 'a', nodes: [makeEmailNode('a'), makeSmsNode('1b')], edges: [edge('a', '1b')] }), expect: ['nodes[1].id: INVALID_NODE_ID', 'edges[0].to: UNKNOWN_NODE'] },
  { title: 'a missing id', def: w({ entryNodeId: 'a', nodes: [makeEmailNode('a'), makeSmsNode('')], edges: [] }), expect: ['nodes[1].id: MISSING_FIELD'] },
  { title: 'a duplicate id', def: w({ entryNodeId: 'a', nodes: [makeEmailNode('a'), makeSmsNode('b'), makeSmsNode('b')], edges: [edge('a', 'b')] }), expect: ['nodes[2].id: DUPLICATE_NODE_ID'] },
  // entry
  { title: 'a missing entry node id', def: w({ entryNodeId: '' }), expect: ['entry_node_id: MISSING_FIELD'] },
  { title: 'an entry node that does not exist', def: w({ entryNodeId: 'nope' }), expect: ['entry_node_id: ENTRY_NODE_MISSING'] },
  // nodes list
  { title: 'no nodes at all', def: w({ entryNodeId: 'a', nodes: [], edges: [] }), expect: ['nodes: MISSING_FIELD', 'entry_node_id: ENTRY_NODE_MISSING'] },
  // edges
  { title: 'an edge from an unknown node', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind'), edge('ghost', 'remind')] }), expect: ['edges[2].from: UNKNOWN_NODE'] },
  { title: 'an edge to an unknown node', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind'), edge('wait', 'ghost')] }), expect: ['edges[2].to: UNKNOWN_NODE'] },
  { title: 'a self-loop', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind'), edge('remind', 'remind')] }), expect: ['edges[2]: SELF_LOOP'] },
  { title: 'a duplicate edge', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind'), edge('wait', 'remind', 'true')] }), expect: ['edges[2]: DUPLICATE_EDGE'] },
  { title: 'a cycle', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind'), edge('remind', 'wait')] }), expect: ['edges: CYCLE_DETECTED'] },
  { title: 'an unreachable node', def: w({ edges: [edge('welcome', 'wait')] }), expect: ['nodes[2]: UNREACHABLE_NODE'] },
  { title: 'a node only reachable from an unreachable node', def: w({ edges: [edge('wait', 'remind')] }), expect: ['nodes[1]: UNREACHABLE_NODE', 'nodes[2]: UNREACHABLE_NODE'] },
  { title: 'parallel branches that join', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind'), makeEmailNode('join')], edges: [edge('welcome', 'wait'), edge('welcome', 'remind', 'payload.vip'), edge('wait', 'join'), edge('remind', 'join')] }), expect: [] },
  // steps.<id> references must name a node that runs earlier
  { title: 'an sms reading the output of the email before it', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { body: 'sent {{ steps.welcome.message_id }}' })] }), expect: [] },
  { title: 'an email reading the output of a node after it', def: w({ nodes: [makeEmailNode('welcome', { subject: 'hi {{ steps.remind.sid }}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.subject: UNDEFINED_VARIABLE'] },
  { title: 'a template reading the output of a node that does not exist', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { body: '{{ steps.ghost.x }}' })] }), expect: ['nodes[2].sms.body: UNDEFINED_VARIABLE'] },
  { title: 'a node reading a parallel branch it does not wait for', def: w({ entryNodeId: 'a', nodes: [makeEmailNode('a'), makeSmsNode('b'), makeSmsNode('c', { body: '{{ steps.b.sid }}' })], edges: [edge('a', 'b'), edge('a', 'c')] }), expect: ['nodes[2].sms.body: UNDEFINED_VARIABLE'] },
  { title: 'a node reading a step only through a dynamic id', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { body: '{{ steps[payload.k].x | default: "" }}' })] }), expect: [] },
  { title: 'a condition reading the node its edge leaves', def: w({ edges: [edge('welcome', 'wait', 'steps.welcome.message_id'), edge('wait', 'remind')] }), expect: [] },
  { title: 'a condition reading the node its edge leads to', def: w({ edges: [edge('welcome', 'wait'), edge('wait', 'remind', 'steps.remind')] }), expect: ['edges[1].condition: UNDEFINED_VARIABLE'] },
  // conditions
  { title: 'a condition that is a valid expression', def: w({ edges: [edge('welcome', 'wait', 'payload.plan == "pro" and steps.welcome'), edge('wait', 'remind')] }), expect: [] },
  { title: 'a condition with a dangling operator', def: w({ edges: [edge('welcome', 'wait', 'payload.plan =='), edge('wait', 'remind')] }), expect: ['edges[0].condition: TEMPLATE_SYNTAX'] },
  { title: 'a condition that smuggles template delimiters', def: w({ edges: [edge('welcome', 'wait', 'true %}{% for i in (1..9) %}'), edge('wait', 'remind')] }), expect: ['edges[0].condition: TEMPLATE_SYNTAX'] },
  // email schema
  { title: 'an email without to', def: w({ nodes: [makeEmailNode('welcome', { to: '' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.to: MISSING_FIELD'] },
  { title: 'an email without subject', def: w({ nodes: [makeEmailNode('welcome', { subject: '' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.subject: MISSING_FIELD'] },
  { title: 'an email with neither text nor html', def: w({ nodes: [makeEmailNode('welcome', { text: undefined }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.text: MISSING_FIELD'] },
  { title: 'an email with html only', def: w({ nodes: [makeEmailNode('welcome', { text: undefined, html: '<p>{{ payload.name }}</p>' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: [] },
  { title: 'an email whose subject does not parse', def: w({ nodes: [makeEmailNode('welcome', { subject: 'Hi {{ payload.name ' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.subject: TEMPLATE_SYNTAX'] },
  { title: 'an email using an unknown filter', def: w({ nodes: [makeEmailNode('welcome', { text: '{{ payload.name | shout }}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.text: TEMPLATE_SYNTAX'] },
  { title: 'an email that includes a file', def: w({ nodes: [makeEmailNode('welcome', { html: '{% include "secrets" %}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.html: TEMPLATE_SYNTAX'] },
  { title: 'an email with a bad from template', def: w({ nodes: [makeEmailNode('welcome', { from: '{% if %}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.from: TEMPLATE_SYNTAX'] },
  { title: 'a template over 64 KiB', def: w({ nodes: [makeEmailNode('welcome', { text: 'x'.repeat(65_537) }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.text: TEMPLATE_TOO_LARGE'] },
  { title: 'a template of exactly 64 KiB', def: w({ nodes: [makeEmailNode('welcome', { text: 'x'.repeat(65_536) }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: [] },
  { title: 'a template over 64 KiB in UTF-8 bytes but not in characters', def: w({ nodes: [makeEmailNode('welcome', { text: 'é'.repeat(40_000) }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.text: TEMPLATE_TOO_LARGE'] },
  { title: 'a template whose variable root is misspelt', def: w({ nodes: [makeEmailNode('welcome', { text: 'Hi {{ paylod.name }}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email.text: UNDEFINED_VARIABLE'] },
  { title: 'a template using assigned, looped and captured variables', def: w({ nodes: [makeEmailNode('welcome', { text: '{% assign n = payload.name %}{% capture c %}x{% endcapture %}{% for i in payload.items %}{{ i }}{{ forloop.index }}{% endfor %}{{ n }}{{ c }}' }), makeDelayNode('wait'), makeSmsNode('remind')] }), expect: [] },
  { title: 'a condition whose variable root is misspelt', def: w({ edges: [edge('welcome', 'wait', 'paylod.vip'), edge('wait', 'remind')] }), expect: ['edges[0].condition: UNDEFINED_VARIABLE'] },
  // sms schema
  { title: 'an sms without to', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { to: '' })] }), expect: ['nodes[2].sms.to: MISSING_FIELD'] },
  { title: 'an sms without body', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { body: '' })] }), expect: ['nodes[2].sms.body: MISSING_FIELD'] },
  { title: 'an sms whose body does not parse', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), makeSmsNode('remind', { body: '{% for %}' })] }), expect: ['nodes[2].sms.body: TEMPLATE_SYNTAX'] },
  // delay schema
  { title: 'a delay with nothing set', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', {}), makeSmsNode('remind')] }), expect: ['nodes[1].delay: MISSING_FIELD'] },
  { title: 'a delay with two kinds set', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 5, duration: 'PT1S' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay: CONFLICTING_FIELDS'] },
  { title: 'delay_ms of 1', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 1 }), makeSmsNode('remind')] }), expect: [] },
  { title: 'delay_ms of 0', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 0 }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.delay_ms: DELAY_OUT_OF_RANGE'] },
  { title: 'negative delay_ms', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: -5 }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.delay_ms: DELAY_OUT_OF_RANGE'] },
  { title: 'fractional delay_ms', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 1.5 }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.delay_ms: INVALID_VALUE'] },
  { title: 'delay_ms of exactly 365 days', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 365 * 86_400_000 }), makeSmsNode('remind')] }), expect: [] },
  { title: 'delay_ms beyond 365 days', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { delayMs: 365 * 86_400_000 + 1 }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.delay_ms: DELAY_OUT_OF_RANGE'] },
  { title: 'a weeks-days-hours duration', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: 'P1W2DT3H4M5S' }), makeSmsNode('remind')] }), expect: [] },
  { title: 'a month duration', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: 'P1M' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: INVALID_DURATION'] },
  { title: 'a year duration', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: 'P1Y' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: INVALID_DURATION'] },
  { title: 'a zero duration', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: 'PT0S' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: INVALID_DURATION'] },
  { title: 'a negative duration', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: '-PT5M' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: INVALID_DURATION'] },
  { title: 'a duration that is not ISO-8601', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: '5 minutes' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: INVALID_DURATION'] },
  { title: 'a duration beyond 365 days', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { duration: 'P366D' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.duration: DELAY_OUT_OF_RANGE'] },
  { title: 'an until template', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { until: '{{ payload.send_at }}' }), makeSmsNode('remind')] }), expect: [] },
  { title: 'an until template that does not parse', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { until: '{{ payload.send_at' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.until: TEMPLATE_SYNTAX'] },
  { title: 'a literal until that is an RFC 3339 time', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { until: '2030-01-01T09:00:00Z' }), makeSmsNode('remind')] }), expect: [] },
  { title: 'a literal until that is not a time', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait', { until: 'next tuesday' }), makeSmsNode('remind')] }), expect: ['nodes[1].delay.until: INVALID_TIMESTAMP'] },
  // types and content
  { title: 'an unknown node type', def: w({ nodes: [makeEmailNode('welcome'), { id: 'wait', type: 'PUSH' } as never, makeSmsNode('remind')] }), expect: ['nodes[1].type: INVALID_VALUE'] },
  { title: 'an email node without email content', def: w({ nodes: [{ id: 'welcome', type: 'EMAIL' } as never, makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].email: MISSING_FIELD'] },
  { title: 'an sms node that also carries email content', def: w({ nodes: [makeEmailNode('welcome'), makeDelayNode('wait'), { ...makeSmsNode('remind'), email: makeEmailNode('x').email } as never] }), expect: ['nodes[2].email: CONFLICTING_FIELDS'] },
  // retry policy
  { title: 'a sane retry policy', def: w({ retry: { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } }), expect: [] },
  { title: 'zero max attempts', def: w({ retry: { maxAttempts: 0 } }), expect: ['retry.max_attempts: INVALID_RETRY_POLICY'] },
  { title: 'too many max attempts', def: w({ retry: { maxAttempts: 1000 } }), expect: ['retry.max_attempts: INVALID_RETRY_POLICY'] },
  { title: 'a negative base delay', def: w({ retry: { baseDelayMs: -1 } }), expect: ['retry.base_delay_ms: INVALID_RETRY_POLICY'] },
  { title: 'a cap below the base delay', def: w({ retry: { baseDelayMs: 5000, maxDelayMs: 1000 } }), expect: ['retry.max_delay_ms: INVALID_RETRY_POLICY'] },
  { title: 'a bad node retry policy', def: w({ nodes: [{ ...makeEmailNode('welcome'), retry: { maxAttempts: 2.5 } }, makeDelayNode('wait'), makeSmsNode('remind')] }), expect: ['nodes[0].retry.max_attempts: INVALID_RETRY_POLICY'] },
];

for (const c of cases) {
  const verdict = c.expect.length === 0 ? 'accepts' : `reports ${c.expect.join(', ')} for`;
  test(`validateWorkflow ${verdict} ${c.title}`, (t) => {
    const got = validateWorkflow(c.def).map((v) => `${v.path}: ${v.reason}`);
    t.deepEqual(got, c.expect);
  });
}

test('validateWorkflow reports every violation, not just the first', (t) => {
  const def = w({
    name: '',
    entryNodeId: 'ghost',
    nodes: [makeEmailNode('Bad'), makeDelayNode('wait', { duration: 'P1M' }), makeSmsNode('remind', { to: '' })],
    edges: [edge('wait', 'wait'), edge('wait', 'nowhere')],
  });
  const reasons = validateWorkflow(def).map((v) => v.reason).sort();
  const expected: ReasonCode[] = ['ENTRY_NODE_MISSING', 'INVALID_DURATION', 'INVALID_NODE_ID', 'MISSING_FIELD', 'MISSING_FIELD', 'SELF_LOOP', 'UNKNOWN_NODE'];
  t.deepEqual(reasons, expected.sort());
});

test('a cycle is named as a closed path of node ids', (t) => {
  const def = w({
    nodes: [makeEmailNode('a'), makeEmailNode('b'), makeEmailNode('c'), makeEmailNode('d')],
    entryNodeId: 'a',
    edges: [edge('a', 'b'), edge('b', 'c'), edge('c', 'd'), edge('d', 'b')],
  });
  const [violation] = validateWorkflow(def);
  t.is(violation.reason, 'CYCLE_DETECTED');
  t.regex(violation.message, /b -> c -> d -> b/);
});

test('a template parse error names its line and column', (t) => {
  const def = w({ nodes: [makeEmailNode('welcome', { text: 'Hello\n  {{ payload.name | nope }}' }), makeDelayNode('wait'), makeSmsNode('remind')] });
  const [violation] = validateWorkflow(def);
  t.is(violation.path, 'nodes[0].email.text');
  t.regex(violation.message, /line 2, column 3/);
});

test('a condition parse error names its column within the condition', (t) => {
  const def = w({ edges: [edge('welcome', 'wait', 'payload.a == 1 and'), edge('wait', 'remind')] });
  const [violation] = validateWorkflow(def);
  t.regex(violation.message, /line 1, column 19/);
});

test('an unknown variable root is reported where it is used', (t) => {
  const def = w({ nodes: [makeEmailNode('welcome', { html: '<p>\n  {{ user.name }}</p>' }), makeDelayNode('wait'), makeSmsNode('remind')] });
  const [violation] = validateWorkflow(def);
  t.is(violation.reason, 'UNDEFINED_VARIABLE');
  t.regex(violation.message, /"user" at line 2, column 6/);
});

test('more than 200 nodes is TOO_MANY_NODES', (t) => {
  const nodes = Array.from({ length: 201 }, (_, i) => makeEmailNode(`n${i}`));
  const edges = nodes.slice(1).map((n, i) => edge(`n${i}`, n.id));
  const got = validateWorkflow(w({ entryNodeId: 'n0', nodes, edges })).map((v) => `${v.path}: ${v.reason}`);
  t.deepEqual(got, ['nodes: TOO_MANY_NODES']);
});

test('exactly 200 nodes in a chain is valid', (t) => {
  const nodes = Array.from({ length: 200 }, (_, i) => makeEmailNode(`n${i}`));
  const edges = nodes.slice(1).map((n, i) => edge(`n${i}`, n.id));
  t.deepEqual(validateWorkflow(w({ entryNodeId: 'n0', nodes, edges })), []);
});

test('limits can be tightened per call', (t) => {
  const got = validateWorkflow(makeWorkflow(), { maxNodes: 2, maxDelayMs: 1000 }).map((v) => `${v.path}: ${v.reason}`);
  t.deepEqual(got, ['nodes: TOO_MANY_NODES', 'nodes[1].delay.duration: DELAY_OUT_OF_RANGE']);
});

test('validateWorkflow survives a definition that is not shaped like one', (t) => {
  const got = validateWorkflow({ name: 'x', entryNodeId: 'a', nodes: [null, 42] as never, edges: 'nope' as never });
  t.true(got.some((v) => v.path === 'nodes[0]'));
  t.true(got.some((v) => v.path === 'edges'));
});
