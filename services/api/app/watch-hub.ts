import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { HeraldError } from '../../../core/errors';
import type { ExecutionLogEntry } from '../../../core/trigger/log';
import { isTerminalStatus } from '../../../core/trigger/state-machine';
import { listLogsAfter, listLogsAfterMany } from '../../postgres/log-store';
import { classifyDbError } from '../../postgres/pg-errors';
import { getTriggerStatuses } from '../../postgres/trigger-store';

/**
 * WatchTrigger without a query per stream: one loop polls for ALL open watches, two queries
 * per tick however many there are (statuses, then new log rows since each watch's mark).
 * Statuses are read BEFORE logs, so when a watch sees a terminal status, the same tick's log
 * read includes everything committed with it; a final sweep then delivers any entry whose id
 * committed out of order, and the stream ends.
 */
export interface WatchHub {
  watch(triggerId: string, signal: AbortSignal): AsyncIterable<ExecutionLogEntry>;
  close(): Promise<void>;
}

interface Subscription {
  triggerId: string;
  afterId: string;
  delivered: Set<string>;
  queue: ExecutionLogEntry[];
  done: boolean;
  error: HeraldError | null;
  wake: (() => void) | null;
}

export interface WatchHubOptions {
  knex: Knex;
  intervalMs?: number;
  logger?: Logger;
  /** Consecutive failed ticks before open watches fail instead of waiting for the database. */
  maxFailedTicks?: number;
}

export function createWatchHub(options: WatchHubOptions): WatchHub {
  const { knex, logger } = options;
  const intervalMs = options.intervalMs ?? 200;
  const maxFailedTicks = options.maxFailedTicks ?? 25;
  const subs = new Set<Subscription>();
  let loop: Promise<void> | null = null;
  let poke: (() => void) | null = null;
  let closed = false;
  let failedTicks = 0;

  function notify(sub: Subscription): void {
    const wake = sub.wake;
    sub.wake = null;
    wake?.();
  }

  function deliver(sub: Subscription, entries: ExecutionLogEntry[]): void {
    for (const entry of entries) {
      if (sub.delivered.has(entry.id)) continue;
      sub.delivered.add(entry.id);
      sub.queue.push(entry);
      if (BigInt(entry.id) > BigInt(sub.afterId)) sub.afterId = entry.id;
    }
  }

  async function tick(): Promise<void> {
    const open = [...subs].filter((s) => !s.done);
    if (open.length === 0) return;
    const ids = [...new Set(open.map((s) => s.triggerId))];
    const statuses = await getTriggerStatuses(knex, ids);
    const marks = new Map<string, string>();
    for (const s of open) {
      const mark = marks.get(s.triggerId);
      if (mark === undefined || BigInt(s.afterId) < BigInt(mark)) marks.set(s.triggerId, s.afterId);
    }
    const entries = await listLogsAfterMany(knex, [...marks].map(([triggerId, afterId]) => ({ triggerId, afterId })));
    const byTrigger = new Map<string, ExecutionLogEntry[]>();
    for (const entry of entries) {
      const list = byTrigger.get(entry.triggerId!) ?? [];
      list.push(entry);
      byTrigger.set(entry.triggerId!, list);
    }
    const finished = new Map<string, ExecutionLogEntry[]>();
    for (const s of open) {
      deliver(s, byTrigger.get(s.triggerId) ?? []);
      const status = statuses.get(s.triggerId);
      if (status === undefined || isTerminalStatus(status)) {
        if (!finished.has(s.triggerId)) finished.set(s.triggerId, status ? await listLogsAfter(knex, s.triggerId, '0', 100_000) : []);
        deliver(s, finished.get(s.triggerId)!);
        s.done = true;
      }
      notify(s);
    }
  }

  async function run(): Promise<void> {
    while (!closed && [...subs].some((s) => !s.done)) {
      try {
        await tick();
        failedTicks = 0;
      } catch (error) {
        failedTicks += 1;
        logger?.warn({ err: error, failedTicks }, 'watch poll failed');
        if (failedTicks >= maxFailedTicks) {
          const failure = classifyDbError(error);
          for (const s of subs) {
            s.error = failure;
            notify(s);
          }
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        poke = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      poke = null;
    }
  }

  function ensureLoop(): void {
    if (loop) {
      poke?.();
      return;
    }
    loop = run().finally(() => {
      loop = null;
      if (!closed && [...subs].some((s) => !s.done)) ensureLoop();
    });
  }

  async function* watch(triggerId: string, signal: AbortSignal): AsyncGenerator<ExecutionLogEntry> {
    const sub: Subscription = { triggerId, afterId: '0', delivered: new Set(), queue: [], done: false, error: null, wake: null };
    const onAbort = () => notify(sub);
    signal.addEventListener('abort', onAbort);
    subs.add(sub);
    ensureLoop();
    try {
      for (;;) {
        while (sub.queue.length > 0 && !signal.aborted) yield sub.queue.shift()!;
        if (signal.aborted || closed) return;
        if (sub.done) return;
        if (sub.error) throw sub.error;
        await new Promise<void>((resolve) => {
          sub.wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      subs.delete(sub);
    }
  }

  return {
    watch,
    async close() {
      closed = true;
      poke?.();
      for (const s of subs) notify(s);
      await loop;
    },
  };
}
