import { createServer, type Socket } from 'node:net';
import test from 'ava';
import { RetryableError } from '../../../core/errors';
import { postHttp } from '../../../services/providers/http-call';
import { parseRetryAfter } from '../../../services/providers/provider-errors';
import { startHttpSink, type HttpSink } from '../../support/http-sink';

const sinks: HttpSink[] = [];
test.after.always(async () => {
  for (const sink of sinks) await sink.close();
});

async function startSink(): Promise<HttpSink> {
  const sink = await startHttpSink();
  sinks.push(sink);
  return sink;
}

const call = (url: string, overrides: Partial<Parameters<typeof postHttp>[0]> = {}) =>
  postHttp({ provider: 'test', url, headers: {}, body: '{}', timeoutMs: 5000, maxResponseBytes: 4096, secrets: [], ...overrides });

test('a response larger than the cap is read only up to the cap', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 200, body: 'head:', fillBytes: 8 * 1024 * 1024 });

  const answer = await call(sink.webhookUrl);

  t.is(answer.status, 200);
  t.true(answer.truncated);
  t.is(Buffer.byteLength(answer.body), 4096);
  t.true(answer.body.startsWith('head:xxx'));
});

test('a response exactly at the cap is not marked truncated', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 200, body: 'y'.repeat(4096) });
  const answer = await call(sink.webhookUrl);
  t.false(answer.truncated);
  t.is(answer.body.length, 4096);
});

test('a peer that never answers times out as retryable', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 200, hang: true });

  const error = await t.throwsAsync(call(sink.webhookUrl, { timeoutMs: 200 }), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_TIMEOUT');
});

test('a refused connection is retryable and names ECONNREFUSED', async (t) => {
  const sink = await startSink();
  const url = sink.webhookUrl;
  await sink.close();

  const error = await t.throwsAsync(call(url), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
  t.is(error.metadata.error_code, 'ECONNREFUSED');
});

test('a connection reset mid-request is retryable', async (t) => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };

  const error = await t.throwsAsync(call(`http://127.0.0.1:${port}/x`), { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
  t.is(error.metadata.error_code, 'ECONNRESET');
});

test('a call cancelled by the caller is retryable, since the peer may not have seen it', async (t) => {
  const sink = await startSink();
  sink.respondNext({ status: 200, hang: true });
  const controller = new AbortController();
  const pending = call(sink.webhookUrl, { signal: controller.signal });
  await new Promise((resolve) => setImmediate(resolve));
  controller.abort();

  const error = await t.throwsAsync(pending, { instanceOf: RetryableError });
  t.is(error.reason, 'PROVIDER_UNAVAILABLE');
});

test('Retry-After is read as delta-seconds or an HTTP date, and anything else is ignored', (t) => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);
  t.is(parseRetryAfter('30', now), 30_000);
  t.is(parseRetryAfter('0', now), 0);
  t.is(parseRetryAfter('Tue, 01 Jan 2030 12:01:30 GMT', now), 90_000);
  t.is(parseRetryAfter('Tue, 01 Jan 2030 11:00:00 GMT', now), 0);
  t.is(parseRetryAfter('soon', now), undefined);
  t.is(parseRetryAfter('-5', now), undefined);
  t.is(parseRetryAfter(null, now), undefined);
});
