/** What the BullMQ peer's driver and its worker processes say to each other over IPC. */
import type { SendRecord } from '../flow-metrics';

export const PEER_QUEUE = 'herald-peer-steps';

/** The 3-step workflow: email -> sms -> email. `delayMs` before a step becomes a delayed job. */
export const PEER_STEPS: Array<{ name: 'email' | 'sms'; delayMs: number }> = [
  { name: 'email', delayMs: 0 },
  { name: 'sms', delayMs: 0 },
  { name: 'email', delayMs: 0 },
];

/** Novu-like job options: retries through attempts + exponential backoff, completed jobs removed. */
export const PEER_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: true,
  removeOnFail: 1000,
} as const;

export interface PeerWorkerConfig {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  latencyMs: number;
  failRate: number;
}

/** data of a step job: trigger id and step index. A timer job carries its due time instead. */
export interface StepJobData { t: string; s: number }
export interface TimerJobData { t: string; w: number }

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; sends: number; timers: number }
  | { type: 'report'; records: SendRecord[]; fired: Array<[string, number, number]>; failures: number };

export type DriverMessage = { type: 'report' } | { type: 'stop' };
