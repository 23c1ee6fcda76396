import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { HeraldError, REASON_CODES } from '../../../core/errors';
import { grpcCodeOf, readStatusDetails, toRpcStatus, toServiceError } from '../../../services/grpc/edge/error-mapping';
import pino from 'pino';

test('every reason code maps to a gRPC code, and only server faults map to INTERNAL or UNAVAILABLE', (t) => {
  for (const reason of REASON_CODES) {
    const code = grpcCodeOf(reason);
    t.true(code in grpc.status, reason);
  }
  t.is(grpcCodeOf('ETAG_MISMATCH'), grpc.status.ABORTED);
  t.is(grpcCodeOf('WORKFLOW_INACTIVE'), grpc.status.FAILED_PRECONDITION);
  t.is(grpcCodeOf('WORKFLOW_ACTIVE'), grpc.status.FAILED_PRECONDITION);
  t.is(grpcCodeOf('WORKFLOW_INVALID'), grpc.status.FAILED_PRECONDITION);
  t.is(grpcCodeOf('PAYLOAD_TOO_LARGE'), grpc.status.RESOURCE_EXHAUSTED);
  t.is(grpcCodeOf('CYCLE_DETECTED'), grpc.status.INVALID_ARGUMENT);
  t.is(grpcCodeOf('DATABASE_UNAVAILABLE'), grpc.status.UNAVAILABLE);
  t.is(grpcCodeOf('NOT_FOUND'), grpc.status.NOT_FOUND);
});

test('a HeraldError with violations becomes a status with ErrorInfo and a BadRequest listing each one', (t) => {
  const error = new HeraldError('INVALID_ARGUMENT', 'bad', {
    violations: [
      { path: 'a', reason: 'MISSING_FIELD', message: 'a is required' },
      { path: 'b[1].c', reason: 'INVALID_VALUE', message: 'c is wrong' },
    ],
  });
  const serviceError = toServiceError(error, pino({ level: 'silent' }), '/x');
  const details = readStatusDetails({ metadata: serviceError.metadata });
  t.is(serviceError.code, grpc.status.INVALID_ARGUMENT);
  t.is(details.status!.code, grpc.status.INVALID_ARGUMENT);
  t.deepEqual(details.errorInfo, { reason: 'INVALID_ARGUMENT', domain: 'herald.dev', metadata: {} });
  t.deepEqual(details.badRequest!.fieldViolations.map((v) => [v.field, v.reason, v.description]), [
    ['a', 'MISSING_FIELD', 'a is required'],
    ['b[1].c', 'INVALID_VALUE', 'c is wrong'],
  ]);
});

test('infrastructure errors keep their reason but not their message or metadata', (t) => {
  const status = toRpcStatus(new HeraldError('DATABASE_UNAVAILABLE', 'connect ECONNREFUSED 10.1.2.3:5432', { metadata: { host: '10.1.2.3' } }));
  t.is(status.code, grpc.status.UNAVAILABLE);
  t.false(status.message.includes('10.1.2.3'));
  t.false(JSON.stringify(status).includes('10.1.2.3'));
  const plain = toRpcStatus(new TypeError('cannot read x of undefined'));
  t.deepEqual([plain.code, plain.message], [grpc.status.INTERNAL, 'internal error']);
});
