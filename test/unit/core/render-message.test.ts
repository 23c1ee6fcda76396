import test from 'ava';
import { renderEmail, renderSms, TerminalError, type ReasonCode } from '../../../core';
import { makeContext, makeEmailNode, makeSmsNode } from './core-fixtures';

const ctx = makeContext({ payload: { name: 'Ada <b>', evil: 'Hi\r\nBcc: all@example.com', list: 'a@example.com, b@example.com' } });

function reasonOf(fn: () => unknown): ReasonCode | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof TerminalError ? error.reason : undefined;
  }
}

test('renderEmail renders every field and escapes only the html body', (t) => {
  const node = makeEmailNode('welcome', { subject: 'Hi {{ payload.name }}', text: 'Hi {{ payload.name }}', html: '<p>{{ payload.name }}</p>' });
  t.deepEqual(renderEmail(node, ctx), {
    to: 'ada@example.com',
    subject: 'Hi Ada <b>',
    text: 'Hi Ada <b>',
    html: '<p>Ada &lt;b&gt;</p>',
  });
});

test('renderEmail falls back to the workflow defaults for from and reply-to', (t) => {
  const node = makeEmailNode('welcome');
  const message = renderEmail(node, ctx, { from: 'Herald <no-reply@example.com>', replyTo: 'help@example.com' });
  t.is(message.from, 'Herald <no-reply@example.com>');
  t.is(message.replyTo, 'help@example.com');
  const own = renderEmail(makeEmailNode('welcome', { from: 'team@example.com' }), ctx, { from: 'no-reply@example.com' });
  t.is(own.from, 'team@example.com');
});

test('a line break in a rendered subject is HEADER_INJECTION', (t) => {
  t.is(reasonOf(() => renderEmail(makeEmailNode('welcome', { subject: '{{ payload.evil }}' }), ctx)), 'HEADER_INJECTION');
});

test('a line break in a rendered to or from is HEADER_INJECTION', (t) => {
  t.is(reasonOf(() => renderEmail(makeEmailNode('welcome', { to: 'a@example.com{{ payload.evil }}' }), ctx)), 'HEADER_INJECTION');
  t.is(reasonOf(() => renderEmail(makeEmailNode('welcome', { from: 'a@example.com\nBcc: x@example.com' }), ctx)), 'HEADER_INJECTION');
});

test('a rendered to that is not one email address is INVALID_EMAIL', (t) => {
  for (const to of ['not-an-address', '{{ payload.list }}', '', 'a@', '@example.com', 'Doe, John <j@example.com>']) {
    t.is(reasonOf(() => renderEmail(makeEmailNode('welcome', { to }), ctx)), 'INVALID_EMAIL', to);
  }
});

test('named and plain mailboxes are accepted', (t) => {
  for (const to of ['ada@example.com', 'Ada Lovelace <ada@example.com>', '"Lovelace, Ada" <ada@example.com>', '  ada@example.com  ']) {
    t.notThrows(() => renderEmail(makeEmailNode('welcome', { to }), ctx), to);
  }
});

test('an email render error names the field and keeps its reason', (t) => {
  const error = t.throws(() => renderEmail(makeEmailNode('welcome', { subject: '{{ payload.nope }}' }), ctx), { instanceOf: TerminalError });
  t.is(error?.reason, 'UNDEFINED_VARIABLE');
  t.is(error?.metadata.field, 'subject');
  t.regex(error?.message ?? '', /payload\.nope/);
});

test('renderSms renders an E.164 recipient and the body', (t) => {
  t.deepEqual(renderSms(makeSmsNode('remind'), ctx), { to: '+14155550100', body: 'Hi Ada <b>' });
});

test('an SMS to a number that is not E.164 is INVALID_PHONE', (t) => {
  for (const to of ['4155550100', '+0123', '+1 415 555 0100', '+1234567890123456', 'call me']) {
    t.is(reasonOf(() => renderSms(makeSmsNode('remind', { to }), ctx)), 'INVALID_PHONE', to);
  }
});
