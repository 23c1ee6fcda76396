import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A webhook-SMS endpoint for scheduler e2e tests that records WHEN each send ran: start when
 * the request arrived, end when the answer left or the connection died (a SIGKILLed sender).
 * With those intervals a test proves that no step of a trigger ever ran twice at the same time,
 * and counts duplicate deliveries. Answers can be scripted per trigger and slowed down.
 */

export interface SendRecord {
  triggerId: string;
  nodeId: string;
  attempt: number;
  idempotencyKey: string;
  start: number;
  end: number | null;
  status: number | null;
}

export interface DeliverySink {
  url: string;
  sends: SendRecord[];
  /** The next answers for one trigger, in order (e.g. [503, 503] then the default 200). */
  script(triggerId: string, statuses: number[]): void;
  /** Latency of every answer, plus up to `jitterMs` at random (a slow provider; the scheduler is under test). */
  setLatency(ms: number, jitterMs?: number): void;
  inFlight(): number;
  /** Pairs of sends of one trigger whose intervals overlap. */
  overlaps(): Array<[SendRecord, SendRecord]>;
  /** 2xx answers beyond the first for the same (trigger, node): re-sent steps. */
  duplicateDeliveries(): number;
  delivered(triggerId?: string): SendRecord[];
  close(): Promise<void>;
}

export async function startDeliverySink(): Promise<DeliverySink> {
  const sends: SendRecord[] = [];
  const scripts = new Map<string, number[]>();
  const sockets = new Set<Socket>();
  let latencyMs = 0;
  let jitterMs = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        // recorded with empty fields; the test will notice
      }
      const record: SendRecord = {
        triggerId: String(body.trigger_id ?? ''),
        nodeId: String(body.node_id ?? ''),
        attempt: Number(body.attempt ?? 0),
        idempotencyKey: String(body.idempotency_key ?? req.headers['idempotency-key'] ?? ''),
        start: Date.now(),
        end: null,
        status: null,
      };
      sends.push(record);
      // The sender died mid-request: its send ends here, and it is never answered.
      res.on('close', () => {
        record.end ??= Date.now();
      });
      const status = scripts.get(record.triggerId)?.shift() ?? 200;
      const answer = () => respond(res, record, status);
      const wait = latencyMs + Math.floor(Math.random() * jitterMs);
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;

  const delivered = (triggerId?: string) =>
    sends.filter((s) => s.status !== null && s.status < 300 && (triggerId === undefined || s.triggerId === triggerId));

  return {
    url: `http://127.0.0.1:${port}/sms`,
    sends,
    script(triggerId, statuses) {
      scripts.set(triggerId, [...statuses]);
    },
    setLatency(ms, jitter = 0) {
      latencyMs = ms;
      jitterMs = jitter;
    },
    inFlight: () => sends.filter((s) => s.end === null).length,
    overlaps() {
      const byTrigger = new Map<string, SendRecord[]>();
      for (const s of sends) byTrigger.set(s.triggerId, [...(byTrigger.get(s.triggerId) ?? []), s]);
      const out: Array<[SendRecord, SendRecord]> = [];
      for (const list of byTrigger.values()) {
        const sorted = [...list].sort((a, b) => a.start - b.start);
        // Compare each send with the one that, so far, ends last (an open one never ends).
        let latest: SendRecord | null = null;
        for (const send of sorted) {
          if (latest && (latest.end === null || latest.end > send.start)) out.push([latest, send]);
          if (endsLater(send, latest)) latest = send;
        }
      }
      return out;
    },
    duplicateDeliveries() {
      const seen = new Set<string>();
      let extra = 0;
      for (const s of delivered()) {
        const step = `${s.triggerId}:${s.nodeId}`;
        if (seen.has(step)) extra += 1;
        else seen.add(step);
      }
      return extra;
    },
    delivered,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** True when `a` ends after `b` (an open interval ends after everything). */
function endsLater(a: SendRecord, b: SendRecord | null): boolean {
  if (b === null) return true;
  if (b.end === null) return false;
  return a.end === null || a.end > b.end;
}

function respond(res: ServerResponse, record: SendRecord, status: number): void {
  if (record.end !== null || res.destroyed || !res.socket || res.socket.destroyed) return;
  record.status = status;
  const body = status < 300 ? { id: `sink-${record.idempotencyKey}` } : { code: String(status), message: `scripted ${status}` };
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body), () => {
    record.end ??= Date.now();
  });
}
