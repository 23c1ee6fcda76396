/**
 * f. The peer: the same email -> sms -> email workflow on BullMQ (the queue Novu runs on), one job
 * per step, retries via attempts + backoff, delays as delayed jobs, the same capture providers.
 * Workers run in their own processes (as many as Herald has schedulers), each with a BullMQ
 * concurrency of `concurrency`; this process plays the api and adds the first step's jobs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { computeFlowMetrics, computeTimerMetrics, type FlowMetrics, type SendRecord, type TimerMetrics } from '../flow-metrics';
import { addInChunks, probeAccept } from '../load';
import { forkModule, startCpuWindow, type BenchProcess, type CpuUsage } from '../processes';
import { PEER_JOB_OPTIONS, PEER_QUEUE, PEER_STEPS, type PeerWorkerConfig, type WorkerMessage } from './bullmq-protocol';

const WORKER_MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bullmq-worker.ts');

export interface PeerOptions {
  redisUrl: string;
  workers: number;
  concurrency: number;
  latencyMs: number;
  failRate?: number;
}

export interface PeerFlowResult {
  workers: number;
  concurrency: number;
  latencyMs: number;
  metrics: FlowMetrics;
  /** Latency at a steady open-loop rate after the burst (no backlog). */
  probe?: FlowMetrics & { rate: number };
  injectedFailures: number;
  peakRssMiB: Record<string, number | null>;
  /** CPU over the burst (accept to the last step sent). */
  cpu: CpuUsage;
}

interface Peer {
  prefix: string;
  redis: Redis;
  queue: Queue;
  procs: BenchProcess[];
  progress: Array<{ sends: number; timers: number }>;
  reports: Array<Extract<WorkerMessage, { type: 'report' }>>;
}

async function startPeer(options: PeerOptions, label: string): Promise<Peer> {
  const prefix = `bench_bull_${randomBytes(3).toString('hex')}`;
  const config: PeerWorkerConfig = { redisUrl: options.redisUrl, prefix, concurrency: options.concurrency, latencyMs: options.latencyMs, failRate: options.failRate ?? 0 };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const peer: Peer = { prefix, redis, queue: new Queue(PEER_QUEUE, { connection: redis, prefix }), procs: [], progress: [], reports: [] };
  await Promise.all(Array.from({ length: options.workers }, async (_, i) => {
    const proc = await forkModule(WORKER_MODULE, `${label}-bullmq-worker-${i + 1}`, { BENCH_PEER_CONFIG: JSON.stringify(config) });
    peer.procs[i] = proc;
    peer.progress[i] = { sends: 0, timers: 0 };
    await new Promise<void>((resolve, reject) => {
      proc.child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'progress') peer.progress[i] = message;
        else if (message.type === 'report') peer.reports[i] = message;
      });
      void proc.exited.then((code) => reject(new Error(`${proc.name} exited with ${code}; see ${proc.logFile}`)));
    });
  }));
  return peer;
}

async function waitForProgress(peer: Peer, what: 'sends' | 'timers', expected: number, stallMs = 30_000): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const total = peer.progress.reduce((sum, p) => sum + p[what], 0);
    if (total >= expected) return;
    if (total !== last) {
      last = total;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`BullMQ peer stalled at ${total}/${expected} ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopPeer(peer: Peer): Promise<Record<string, number | null>> {
  await Promise.all(peer.procs.map((proc, i) => new Promise<void>((resolve) => {
    if (proc.child.connected) proc.child.send({ type: 'report' });
    const deadline = Date.now() + 15_000;
    const check = setInterval(() => (peer.reports[i] || Date.now() > deadline) && (clearInterval(check), resolve()), 20);
  })));
  const rss: Record<string, number | null> = {};
  for (const proc of peer.procs) rss[proc.name] = await proc.peakRssMiB();
  await Promise.all(peer.procs.map(async (proc) => {
    if (proc.child.connected) proc.child.send({ type: 'stop' });
    await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    proc.kill();
  }));
  await peer.queue.obliterate({ force: true }).catch(() => undefined);
  const redis = peer.redis;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${peer.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await peer.queue.close();
  redis.disconnect();
  return rss;
}

export interface FlowRunOptions {
  n: number;
  acceptBatch: number;
  acceptConcurrency: number;
  /** Triggers/s of the open-loop latency probe after the burst; 0 skips it. */
  probeRate: number;
  probeMs: number;
}

export async function runBullmqFlow(options: PeerOptions & FlowRunOptions): Promise<PeerFlowResult> {
  const peer = await startPeer(options, `peer-${options.workers}w-${options.latencyMs}ms`);
  const acceptedAt = new Map<string, number>();
  let probeAcceptedAt = new Map<string, number>();
  let rss: Record<string, number | null> = {};
  let cpu: CpuUsage = { seconds: {}, machineBusy: 0, wallSeconds: 0 };
  const first = PEER_STEPS[0];
  const addFirstSteps = (ids: string[]) => peer.queue.addBulk(ids.map((t) => ({ name: first.name, data: { t, s: 0 }, opts: { ...PEER_JOB_OPTIONS, delay: first.delayMs || undefined } })));
  try {
    const ids = Array.from({ length: options.n }, () => randomUUID());
    const endCpuWindow = await startCpuWindow(peer.procs);
    await addInChunks(ids, options.acceptBatch, options.acceptConcurrency, addFirstSteps, (chunk, sentAt) => chunk.forEach((id) => acceptedAt.set(id, sentAt)));
    await waitForProgress(peer, 'sends', options.n * PEER_STEPS.length);
    cpu = await endCpuWindow();
    if (options.probeRate > 0 && options.probeMs > 0) {
      probeAcceptedAt = await probeAccept(options.probeRate, options.probeMs, async (count) => {
        const probeIds = Array.from({ length: count }, () => randomUUID());
        await addFirstSteps(probeIds);
        return probeIds;
      });
      await waitForProgress(peer, 'sends', (options.n + probeAcceptedAt.size) * PEER_STEPS.length);
    }
  } finally {
    rss = await stopPeer(peer);
  }
  const records: SendRecord[] = peer.reports.flatMap((r) => r?.records ?? []);
  return {
    workers: options.workers,
    concurrency: options.concurrency,
    latencyMs: options.latencyMs,
    metrics: computeFlowMetrics(records.filter((r) => !probeAcceptedAt.has(r.trigger)), acceptedAt, PEER_STEPS.length),
    probe: probeAcceptedAt.size ? { ...computeFlowMetrics(records.filter((r) => probeAcceptedAt.has(r.trigger)), probeAcceptedAt, PEER_STEPS.length), rate: options.probeRate } : undefined,
    injectedFailures: peer.reports.reduce((sum, r) => sum + (r?.failures ?? 0), 0),
    peakRssMiB: rss,
    cpu,
  };
}

/** BullMQ delayed jobs falling due uniformly over `spreadMs`, starting after they are all added. */
export async function runBullmqTimers(options: PeerOptions & { count: number; spreadMs: number }): Promise<TimerMetrics> {
  const peer = await startPeer(options, `peer-timers-${options.workers}w`);
  const leadMs = 1_000 + options.count / 20;
  const base = Date.now() + leadMs;
  const timers = Array.from({ length: options.count }, (_, i) => ({ t: randomUUID(), w: base + Math.floor((options.spreadMs * i) / options.count) }));
  const parkedLate = new Set<string>();
  try {
    await addInChunks(timers, 1000, 4,
      (chunk) => peer.queue.addBulk(chunk.map((data) => ({ name: 'timer', data, opts: { removeOnComplete: true, delay: Math.max(0, data.w - Date.now()) } }))),
      (chunk) => chunk.forEach((d) => d.w <= Date.now() && parkedLate.add(d.t)));
    await waitForProgress(peer, 'timers', options.count);
  } finally {
    await stopPeer(peer);
  }
  const fired = peer.reports.flatMap((r) => r?.fired ?? []);
  return computeTimerMetrics(options.count, fired, parkedLate);
}
