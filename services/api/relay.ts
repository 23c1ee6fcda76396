import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';
import type { TriggerPublisher } from '../kafka/trigger-publisher';
import { listUnpublished, markPublished } from '../postgres/trigger-store';

export interface RelayOptions {
  knex: Knex;
  publisher: TriggerPublisher;
  config: HeraldConfig;
  logger?: Logger;
  /**
   * Only rows unpublished and untouched for this long: younger ones may still be in their own
   * publish (which is bounded by the publisher's timeout, 5 s by default).
   */
  olderThanMs?: number;
  batchSize?: number;
  intervalMs?: number;
}

export interface Relay {
  /** One pass: publishes every stale unpublished row, page by page. Returns how many it published. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The outbox relay. The trigger row is its own outbox record (`published_at IS NULL` until the
 * broker acks), so a crash or a broker outage between insert and ack only delays a trigger.
 * Several api processes may relay the same row at once; the duplicate ref is harmless because
 * the scheduler acts on the row's state, not on the message.
 */
export function startRelay(options: RelayOptions): Relay {
  const { knex, publisher, config, logger } = options;
  const intervalMs = options.intervalMs ?? config.api.relayIntervalMs;
  const olderThanMs = options.olderThanMs ?? Math.max(10_000, 2 * intervalMs);
  const batchSize = options.batchSize ?? 500;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<number> | null = null;

  async function pass(): Promise<number> {
    let published = 0;
    for (;;) {
      const rows = await listUnpublished(knex, olderThanMs, batchSize);
      if (rows.length === 0) return published;
      await publisher.publish(rows, 'relayed');
      await markPublished(knex, rows.map((r) => r.id));
      published += rows.length;
      logger?.info({ count: rows.length }, 'relay re-published unpublished triggers');
      if (rows.length < batchSize || stopped) return published;
    }
  }

  function runOnce(): Promise<number> {
    // Never two passes at once in one process: a slow broker must not stack them up.
    current ??= pass().finally(() => {
      current = null;
    });
    return current;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => logger?.warn({ err: error }, 'relay pass failed; will retry'))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  }

  schedule();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current?.catch(() => undefined);
    },
  };
}
