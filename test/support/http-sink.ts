import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server on loopback that speaks Twilio's Messages API shape and Herald's SMS webhook
 * contract, and fails on demand. Tests and benchmarks point providers at `baseUrl`.
 *
 *  POST /2010-04-01/Accounts/{sid}/Messages.json  basic auth sid:token, form body -> 201 {sid, status}
 *  POST /sms-webhook (or any other path)         JSON body                     -> 200 {id}
 */

export interface SinkRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed when the body was form-encoded. */
  form?: Record<string, string>;
  /** Parsed when the body was JSON. */
  json?: unknown;
  /** `user:pass` from a Basic authorization header. */
  basicAuth?: string;
}

/** A scripted answer for the next matching requests. */
export interface SinkResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer a body of this many bytes (after `body`), streamed in chunks. */
  fillBytes?: number;
  /** Never answer: the socket stays open until the client gives up or the sink closes. */
  hang?: boolean;
  /** Only requests whose path starts with this. */
  path?: string;
  times?: number;
}

export interface HttpSinkOptions {
  /** Credentials the Twilio route accepts; other credentials get 401 like Twilio's. */
  twilio?: { accountSid: string; authToken: string };
}

export interface HttpSink {
  baseUrl: string;
  /** The URL of the webhook route. */
  webhookUrl: string;
  /** Every request received, failed or not, in arrival order. */
  requests: SinkRequest[];
  /** Requests the sink answered 2xx (messages "delivered"). */
  delivered: SinkRequest[];
  respondNext(response: SinkResponse): void;
  close(): Promise<void>;
}

type Pending = SinkResponse & { remaining: number };

export async function startHttpSink(options: HttpSinkOptions = {}): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  const delivered: SinkRequest[] = [];
  const pending: Pending[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = describe(req.method ?? '', req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
      requests.push(request);
      const scripted = pending.find((p) => p.remaining > 0 && (p.path === undefined || request.path.startsWith(p.path)));
      if (scripted) {
        scripted.remaining--;
        return answerScripted(res, scripted);
      }
      const answer = route(request, options);
      if (answer.status < 300) delivered.push(request);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    webhookUrl: `${baseUrl}/sms-webhook`,
    requests,
    delivered,
    respondNext(response) {
      pending.push({ ...response, remaining: response.times ?? 1 });
    },
    close() {
      // Hanging requests would keep close() waiting forever.
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function describe(method: string, url: string, headers: IncomingHttpHeaders, rawBody: string): SinkRequest {
  const request: SinkRequest = { method, path: url, headers, rawBody };
  const type = headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) request.form = Object.fromEntries(new URLSearchParams(rawBody));
  if (type.startsWith('application/json')) {
    try {
      request.json = JSON.parse(rawBody);
    } catch {
      request.json = undefined;
    }
  }
  const auth = headers.authorization;
  if (auth?.startsWith('Basic ')) request.basicAuth = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  return request;
}

function route(request: SinkRequest, options: HttpSinkOptions): { status: number; body: unknown } {
  const twilio = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(request.path);
  if (!twilio) return { status: 200, body: { id: `wh_${randomBytes(6).toString('hex')}` } };
  const expected = options.twilio ? `${options.twilio.accountSid}:${options.twilio.authToken}` : undefined;
  if (request.method !== 'POST' || (expected !== undefined && request.basicAuth !== expected)) {
    return { status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } };
  }
  const form = request.form ?? {};
  if (!form.To || !form.Body || !(form.From || form.MessagingServiceSid)) {
    return { status: 400, body: { code: 21604, message: "A 'To' phone number is required.", status: 400 } };
  }
  return {
    status: 201,
    body: { sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued', to: form.To, from: form.From ?? null, body: form.Body },
  };
}

function answerScripted(res: ServerResponse, scripted: Pending): void {
  if (scripted.hang) return;
  res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
  if (scripted.body) res.write(scripted.body);
  let left = scripted.fillBytes ?? 0;
  const chunk = Buffer.alloc(16 * 1024, 'x');
  const pump = () => {
    while (left > 0) {
      const part = chunk.subarray(0, Math.min(left, chunk.length));
      left -= part.length;
      // Respect backpressure, and stop when the client hung up after reading enough.
      if (!res.write(part)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => (left = 0));
  pump();
}
