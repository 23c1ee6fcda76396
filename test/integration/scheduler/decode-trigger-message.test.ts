import test from 'ava';
import { TriggerRequest } from '../../../services/grpc/gen/herald/v1/trigger_request';
import { decodeTriggerMessage, TRIGGER_REF_CONTENT_TYPE } from '../../../services/kafka/decode-trigger-message';
import { TRIGGER_REF_CONTENT_TYPE as PUBLISHED_REF_TYPE } from '../../../services/kafka/trigger-publisher';

const WF = '0f8fad5b-d9cb-469f-a165-70867728950e';
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

test('the ref content type the api publishes is the one the scheduler recognises', (t) => {
  t.is(TRIGGER_REF_CONTENT_TYPE, PUBLISHED_REF_TYPE);
  const decoded = decodeTriggerMessage(json({ v: 1, kind: 'trigger-ref', triggerId: 'abc' }), { 'content-type': PUBLISHED_REF_TYPE });
  t.deepEqual(decoded, { kind: 'ref', triggerId: 'abc' });
});

test('a JSON request is decoded with or without a content type, camelCase or snake_case', (t) => {
  const body = { workflowId: WF, idempotencyKey: 'k', recipient: { id: 'u' }, payload: { a: 1 } };
  const expected = { kind: 'direct', format: 'json', request: { workflowId: WF, idempotencyKey: 'k', recipient: { id: 'u' }, payload: { a: 1 } } };
  t.deepEqual(decodeTriggerMessage(json(body), { 'content-type': 'application/json' }), expected);
  t.deepEqual(decodeTriggerMessage(json(body), undefined), expected);
  t.deepEqual(decodeTriggerMessage(json({ workflow_id: WF, idempotency_key: 'k', recipient: { id: 'u' }, payload: { a: 1 } }), {}), expected);
});

test('a protobuf TriggerRequest is decoded by content type and by sniffing, with blank recipient fields dropped', (t) => {
  const bytes = Buffer.from(
    TriggerRequest.encode(TriggerRequest.fromPartial({ workflowId: WF, idempotencyKey: 'k', recipient: { id: 'u', email: 'a@b.co' }, payload: { n: 1 } })).finish(),
  );
  for (const headers of [{ 'content-type': 'application/x-protobuf' }, undefined]) {
    const decoded = decodeTriggerMessage(bytes, headers);
    t.deepEqual(decoded, {
      kind: 'direct',
      format: 'protobuf',
      request: { workflowId: WF, idempotencyKey: 'k', recipient: { id: 'u', email: 'a@b.co' }, payload: { n: 1 } },
    });
  }
});

test('bytes that are neither JSON nor a TriggerRequest are undecodable, never a crash', (t) => {
  for (const value of [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from('hello'), Buffer.from('{"broken": '), Buffer.alloc(0), null]) {
    t.is(decodeTriggerMessage(value, undefined).kind, 'undecodable');
  }
  t.is(decodeTriggerMessage(json([1, 2]), { 'content-type': 'application/json' }).kind, 'undecodable');
  t.is(decodeTriggerMessage(json({ kind: 'trigger-ref' }), { 'content-type': TRIGGER_REF_CONTENT_TYPE }).kind, 'undecodable');
});
