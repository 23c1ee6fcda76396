import test from 'ava';
import {
  evaluateCondition,
  parseCondition,
  parseTemplate,
  renderTemplate,
  TerminalError,
  type ReasonCode,
} from '../../../core';
import { makeContext } from './core-fixtures';

const ctx = makeContext({ payload: { name: 'Ada', plan: 'pro', items: [{ sku: 'a1' }, { sku: 'b2' }], html: '<script>x</script>', count: 3 } });

function reasonOf(fn: () => unknown): ReasonCode | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof TerminalError ? error.reason : (`not a TerminalError: ${String(error)}` as ReasonCode);
  }
}

test('renderTemplate renders variables, filters and loops over the execution context', (t) => {
  t.is(renderTemplate('Hi {{ payload.name | upcase }} ({{ recipient.id }})', ctx), 'Hi ADA (user-1)');
  t.is(renderTemplate('{% for i in payload.items %}{{ i.sku }};{% endfor %}', ctx), 'a1;b2;');
  t.is(renderTemplate('{{ payload.items.size }} {{ trigger.idempotency_key }} v{{ workflow.version }}', ctx), '2 order-42 v1');
});

test('a missing variable is UNDEFINED_VARIABLE and the error names it', (t) => {
  const error = t.throws(() => renderTemplate('Hi {{ payload.nickname }}', ctx), { instanceOf: TerminalError });
  t.is(error?.reason, 'UNDEFINED_VARIABLE');
  t.regex(error?.message ?? '', /payload\.nickname/);
  t.is(error?.metadata.variable, 'payload.nickname');
});

test('| default: is the escape hatch for an optional variable', (t) => {
  t.is(renderTemplate('Hi {{ payload.nickname | default: payload.name }}', ctx), 'Hi Ada');
  t.is(renderTemplate('{% if payload.nickname %}x{% else %}none{% endif %}', ctx), 'none');
});

test('an unknown filter fails to parse instead of being skipped', (t) => {
  const [problem] = parseTemplate('{{ payload.name | shout }}');
  t.is(problem.reason, 'TEMPLATE_SYNTAX');
  t.is(reasonOf(() => renderTemplate('{{ payload.name | shout }}', ctx)), 'TEMPLATE_SYNTAX');
});

test('parseTemplate reports the line and column of a syntax error', (t) => {
  const [problem] = parseTemplate('line one\nline two {{ payload.name ');
  t.is(problem.reason, 'TEMPLATE_SYNTAX');
  t.is(problem.line, 2);
  t.is(problem.col, 10);
  t.regex(problem.message, /line 2, column 10/);
});

test('parseTemplate accepts a well-formed template', (t) => {
  t.deepEqual(parseTemplate('Hello {{ payload.name | default: "you" }}{% if payload.vip %}!{% endif %}'), []);
});

test('html rendering escapes payload values but honours | raw from the author', (t) => {
  t.is(renderTemplate('<p>{{ payload.html }}</p>', ctx, { escapeHtml: true }), '<p>&lt;script&gt;x&lt;/script&gt;</p>');
  t.is(renderTemplate('<p>{{ payload.html }}</p>', ctx), '<p><script>x</script></p>');
  t.is(renderTemplate('{{ "<b>" | raw }}', ctx, { escapeHtml: true }), '<b>');
});

test('"now" in a date filter is the render time the caller passes, in UTC', (t) => {
  const now = new Date('2030-06-15T23:30:00Z');
  t.is(renderTemplate('{{ "now" | date: "%Y-%m-%d %H:%M" }}', ctx, { now }), '2030-06-15 23:30');
});

test('the same template renders the same way from the cache', (t) => {
  const source = 'cached {{ payload.count | plus: 1 }}';
  t.is(renderTemplate(source, ctx), 'cached 4');
  t.is(renderTemplate(source, ctx), 'cached 4');
  t.is(reasonOf(() => renderTemplate('{{ broken', ctx)), 'TEMPLATE_SYNTAX');
  t.is(reasonOf(() => renderTemplate('{{ broken', ctx)), 'TEMPLATE_SYNTAX');
});

test('conditions evaluate with Liquid truthiness over the context', (t) => {
  t.true(evaluateCondition('payload.plan == "pro"', ctx));
  t.false(evaluateCondition('payload.plan == "free"', ctx));
  t.true(evaluateCondition('payload.count > 2 and payload.name contains "A"', ctx));
  t.false(evaluateCondition('payload.missing', ctx));
  t.true(evaluateCondition('payload.count', ctx)); // 0 and "" are truthy in Liquid too
});

test('conditions are held to operand-operator-operand grammar', (t) => {
  for (const bad of ['payload.plan ==', '== 1', 'a b', 'a | size', '"open', '{{ a }}', '']) {
    t.is(parseCondition(bad)[0]?.reason, 'TEMPLATE_SYNTAX', bad);
  }
  t.deepEqual(parseCondition('payload.plan != "free" or payload.count >= 10'), []);
});

// ---- Abuse: every one ends in a typed error, bounded by the render/memory limits. ----

const abuse: Array<{ title: string; source: string; reasons: ReasonCode[]; context?: object }> = [
  { title: 'a hundred-million iteration loop', source: '{% for i in (1..100000000) %}{{ i }}{% endfor %}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'nested loops with no output', source: '{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  {
    title: 'replace amplification',
    source: '{{ "aaaaaaaaaa" | replace: "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | replace: "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | replace: "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | replace: "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" | size }}',
    reasons: ['TEMPLATE_LIMIT_EXCEEDED'],
  },
  { title: 'doubling a string by assignment in a loop', source: '{% assign s = "xxxxxxxxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'date padding abuse', source: '{{ "now" | date: "%1000000000d" }}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'date padding with a zero flag', source: '{{ "2020-01-01T00:00:00Z" | date: "%0999999999Y" }}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'deeply nested parentheses', source: `{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`, reasons: ['TEMPLATE_LIMIT_EXCEEDED', 'TEMPLATE_SYNTAX'] },
  { title: 'deeply nested if tags', source: `${'{% if true %}'.repeat(4000)}x${'{% endif %}'.repeat(4000)}`, reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'a tablerow over a huge range', source: '{% tablerow i in (1..100000000) %}{{ i }}{% endtablerow %}', reasons: ['TEMPLATE_LIMIT_EXCEEDED'] },
  { title: 'prototype access through __proto__', source: '{{ payload.__proto__ }}', reasons: ['UNDEFINED_VARIABLE'] },
  { title: 'prototype access through constructor', source: '{{ payload.constructor.name }}', reasons: ['UNDEFINED_VARIABLE'] },
  { title: 'prototype access through bracket notation', source: '{{ payload["constructor"]["constructor"] }}', reasons: ['UNDEFINED_VARIABLE'] },
  { title: 'an array constructor walk', source: '{{ payload.items.constructor }}', reasons: ['UNDEFINED_VARIABLE'] },
  { title: 'including a file', source: '{% include "/etc/passwd" %}', reasons: ['TEMPLATE_SYNTAX'] },
  { title: 'rendering a partial', source: '{% render "../secrets" %}', reasons: ['TEMPLATE_SYNTAX'] },
  { title: 'a layout from disk', source: '{% layout "default" %}x', reasons: ['TEMPLATE_SYNTAX'] },
];

for (const c of abuse) {
  test(`${c.title} ends in ${c.reasons.join(' or ')} without hanging`, (t) => {
    t.timeout(20_000);
    const reason = reasonOf(() => renderTemplate(c.source, c.context ?? ctx));
    t.true(reason !== undefined && c.reasons.includes(reason), `got ${String(reason)}`);
  });
}

test('a condition cannot be abused into a huge range either', (t) => {
  t.timeout(20_000);
  t.is(reasonOf(() => evaluateCondition('(1..100000000) contains 5', ctx)), 'TEMPLATE_LIMIT_EXCEEDED');
});

test('an inherited property is invisible even on a prototype-polluted payload', (t) => {
  const payload = Object.create({ secret: 'inherited' }) as Record<string, unknown>;
  payload.visible = 'ok';
  t.is(renderTemplate('{{ payload.visible }}', { ...ctx, payload }), 'ok');
  t.is(reasonOf(() => renderTemplate('{{ payload.secret }}', { ...ctx, payload })), 'UNDEFINED_VARIABLE');
});
