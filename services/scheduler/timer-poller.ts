import type { Logger } from 'pino';
import type { TimerWheel } from '../redis/timer-wheel';

export interface TimerPollerOptions {
  partition: number;
  wheel: TimerWheel;
  lookaheadMs: number;
  /** How many timers may be claimed now (free actor slots); claiming more would only queue them. */
  freeCapacity(): number;
  onDue(triggerId: string): void;
  /** Reads ahead the rows of timers now held in memory, so a fire does not wait for a read. */
  prefetch?(triggerIds: string[], ttlMs: number): void;
  logger: Logger;
}

const MAX_CLAIM = 500;
const COUNT_EVERY_MS = 2_000;
/** A timer due sooner than this is not read ahead: its own load would race the read-ahead. */
const PREFETCH_MIN_LEAD_MS = 50;
/** How long a row read ahead is kept past its wake time (a fire may queue behind actor capacity). */
const PREFETCH_GRACE_MS = 5_000;

/**
 * The owner's view of one partition's timers. Every tick it atomically claims the timers due
 * within the lookahead from Redis and holds them in memory with setTimeout, so they fire on
 * time; a timer never fires before its wake time (and the actor re-checks against Postgres
 * anyway: an early wake only re-arms).
 */
export class TimerPoller {
  private readonly local = new Map<string, { timer: NodeJS.Timeout; wakeAtMs: number }>();
  private tickTimer: NodeJS.Timeout | null = null;
  private running = false;
  private redisCount = 0;
  private lastCountAt = 0;
  private readonly tickMs: number;

  constructor(private readonly options: TimerPollerOptions) {
    this.tickMs = Math.max(10, Math.min(250, Math.floor(options.lookaheadMs / 2)));
  }

  start(): void {
    this.running = true;
    this.scheduleTick(0);
  }

  /** Timers held in memory plus the last known size of the Redis set. */
  get parkedCount(): number {
    return this.local.size + this.redisCount;
  }

  /** Parks a trigger: in memory if due within the lookahead, else in Redis. */
  async arm(triggerId: string, wakeAt: Date): Promise<void> {
    const wakeAtMs = wakeAt.getTime();
    if (this.running && wakeAtMs - Date.now() <= this.options.lookaheadMs) {
      this.holdLocally(triggerId, wakeAtMs);
      this.prefetchHeld([{ triggerId, wakeAtMs }]);
      return;
    }
    await this.options.wheel.add(this.options.partition, [{ triggerId, wakeAtMs }]);
  }

  /** Stops polling and drops in-memory timers; `handBack` returns them to Redis for the next owner. */
  async stop(handBack: boolean): Promise<void> {
    this.running = false;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    const held = [...this.local.entries()].map(([triggerId, { timer, wakeAtMs }]) => {
      clearTimeout(timer);
      return { triggerId, wakeAtMs };
    });
    this.local.clear();
    if (handBack && held.length > 0) {
      await this.options.wheel.add(this.options.partition, held).catch((error: unknown) => {
        // Postgres wake_at still holds them; the next owner rebuilds its timers from there.
        this.options.logger.debug({ err: error, partition: this.options.partition }, 'could not hand timers back to Redis');
      });
    }
  }

  private holdLocally(triggerId: string, wakeAtMs: number): void {
    const existing = this.local.get(triggerId);
    // Keep the earlier of two wake times: an early wake is harmless, a late one is not.
    if (existing && existing.wakeAtMs <= wakeAtMs) return;
    if (existing) clearTimeout(existing.timer);
    // +1 ms: Node may run a timer up to a millisecond before Date.now() reaches its due time.
    const delay = Math.max(0, wakeAtMs - Date.now() + 1);
    const timer = setTimeout(() => {
      this.local.delete(triggerId);
      if (this.running) this.options.onDue(triggerId);
    }, delay);
    this.local.set(triggerId, { timer, wakeAtMs });
  }

  private prefetchHeld(entries: Array<{ triggerId: string; wakeAtMs: number }>): void {
    if (!this.options.prefetch || entries.length === 0) return;
    const now = Date.now();
    const ahead = entries.filter((e) => e.wakeAtMs - now >= PREFETCH_MIN_LEAD_MS).map((e) => e.triggerId);
    if (ahead.length > 0) this.options.prefetch(ahead, this.options.lookaheadMs + PREFETCH_GRACE_MS);
  }

  private scheduleTick(delayMs: number): void {
    if (!this.running) return;
    this.tickTimer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    const { wheel, partition, lookaheadMs, logger } = this.options;
    try {
      const limit = Math.min(MAX_CLAIM, this.options.freeCapacity() - this.local.size);
      if (limit > 0) {
        const claimed = await wheel.claimDue(partition, Date.now() + lookaheadMs, limit);
        if (!this.running) {
          // Stopped while claiming: these belong to the next owner.
          await wheel.add(partition, claimed);
          return;
        }
        for (const entry of claimed) this.holdLocally(entry.triggerId, entry.wakeAtMs);
        this.prefetchHeld(claimed);
      }
      if (Date.now() - this.lastCountAt >= COUNT_EVERY_MS) {
        this.lastCountAt = Date.now();
        this.redisCount = await wheel.count(partition);
      }
    } catch (error) {
      logger.warn({ err: error, partition }, 'timer poll failed; Postgres sweep covers due timers');
    } finally {
      this.scheduleTick(this.tickMs);
    }
  }
}
