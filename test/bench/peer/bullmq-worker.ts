/**
 * One BullMQ peer worker process: a Worker running the 3-step workflow one job per step. Each step
 * calls the capture provider and then enqueues the next step's job (a delayed job when the
 * workflow has a delay before it). Timer jobs record when they ran against their due time.
 * Started by bullmq-peer.ts with BENCH_PEER_CONFIG in the environment.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { preciseNow } from '../processes';
import { CaptureProvider } from './bullmq-capture';
import { PEER_JOB_OPTIONS, PEER_QUEUE, PEER_STEPS, type DriverMessage, type PeerWorkerConfig, type StepJobData, type TimerJobData, type WorkerMessage } from './bullmq-protocol';

const config = JSON.parse(process.env.BENCH_PEER_CONFIG ?? '{}') as PeerWorkerConfig;
const send = (message: WorkerMessage) => process.send?.(message);

const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(PEER_QUEUE, { connection, prefix: config.prefix });
const capture = new CaptureProvider({ latencyMs: config.latencyMs, failRate: config.failRate });
const fired: Array<[string, number, number]> = [];

async function processJob(job: Job): Promise<void> {
  if (job.name === 'timer') {
    const data = job.data as TimerJobData;
    fired.push([data.t, data.w, preciseNow()]);
    return;
  }
  const { t, s } = job.data as StepJobData;
  await capture.send(t, s);
  const next = PEER_STEPS[s + 1];
  if (next) {
    await queue.add(next.name, { t, s: s + 1 } satisfies StepJobData, { ...PEER_JOB_OPTIONS, delay: next.delayMs || undefined });
  }
}

const worker = new Worker(PEER_QUEUE, processJob, {
  connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }),
  prefix: config.prefix,
  concurrency: config.concurrency,
});
worker.on('error', (error) => console.error('worker error', error));
await worker.waitUntilReady();

const progress = setInterval(() => send({ type: 'progress', sends: capture.records.length, timers: fired.length }), 100);

process.on('message', async (message: DriverMessage) => {
  if (message.type === 'report') {
    send({ type: 'report', records: capture.records, fired, failures: capture.failures });
  } else if (message.type === 'stop') {
    clearInterval(progress);
    await worker.close();
    await queue.close();
    connection.disconnect();
    process.exit(0);
  }
});
send({ type: 'ready' });
