import type { Redis } from 'ioredis';
// redlock 5's package.json "exports" has no "types" condition, so its declarations are
// reachable only by path; the runtime import is the package itself.
// @ts-expect-error TS7016: see above
import RedlockRuntime from 'redlock';
import type RedlockType from '../../node_modules/redlock/dist/index';
import type { Lock } from '../../node_modules/redlock/dist/index';
import type { Logger } from 'pino';

const Redlock = RedlockRuntime as typeof RedlockType;

/**
 * Redlock leases on partitions (`${prefix}lease:{p}`). A lease only reduces overlap between an
 * old and a new owner; the Postgres epoch is what makes overlap harmless. So the rules here are
 * simple: acquire by polling, extend every third of the TTL, and call `onLost` as soon as the
 * lease can no longer be trusted (extension refused, or it simply ran out, e.g. after SIGSTOP).
 */
export interface HeldLease {
  readonly partition: number;
  /** True while this process may still believe it holds the lease (by its own clock). */
  isValid(): boolean;
  /** Stops extending and deletes the key if it is still ours. Never throws. */
  release(): Promise<void>;
}

const ACQUIRE_RETRY_MS = 300;

export class LeaseManager {
  private readonly redlock: RedlockType;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.redlock = new Redlock([redis], { retryCount: 0, driftFactor: 0.01, automaticExtensionThreshold: 500 });
    // Redlock reports per-client errors as events; an EventEmitter without a listener would throw.
    this.redlock.on('error', (error: unknown) => this.logger.debug({ err: error }, 'redlock client error'));
  }

  /** `herald:lease:{p}`: the same hash tag as the partition's timers, so both live in one cluster slot. */
  keyFor(partition: number): string {
    return `${this.prefix}lease:{${partition}}`;
  }

  /** Polls until the lease is ours or `signal` aborts (then resolves null). */
  async acquire(partition: number, signal: AbortSignal, onLost: (reason: string) => void): Promise<HeldLease | null> {
    let waitedLogged = false;
    while (!signal.aborted) {
      try {
        const lock = await this.redlock.acquire([this.keyFor(partition)], this.ttlMs, { retryCount: 0 });
        if (signal.aborted) {
          await lock.release().catch(() => undefined);
          return null;
        }
        return new ExtendingLease(partition, lock, this.ttlMs, this.logger, onLost);
      } catch (error) {
        if (!waitedLogged) {
          this.logger.info({ partition }, 'partition lease held elsewhere; waiting for it');
          waitedLogged = true;
        }
        this.logger.trace({ partition, err: error }, 'lease acquire attempt failed');
        await abortableDelay(ACQUIRE_RETRY_MS, signal);
      }
    }
    return null;
  }
}

class ExtendingLease implements HeldLease {
  private timer: NodeJS.Timeout | null = null;
  private released = false;
  private lost = false;

  constructor(
    readonly partition: number,
    private lock: Lock,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly onLost: (reason: string) => void,
  ) {
    this.schedule(Math.max(100, Math.floor(ttlMs / 3)));
  }

  isValid(): boolean {
    return !this.lost && !this.released && Date.now() < this.lock.expiration;
  }

  private schedule(delayMs: number): void {
    if (this.released || this.lost) return;
    this.timer = setTimeout(() => void this.extend(), delayMs);
  }

  private async extend(): Promise<void> {
    if (this.released || this.lost) return;
    // After a pause (GC, SIGSTOP) the lease may have run out before we even tried: then it is
    // gone, whatever Redis answers.
    if (Date.now() >= this.lock.expiration) return this.markLost('lease expired before it could be extended');
    try {
      this.lock = await this.lock.extend(this.ttlMs);
      this.schedule(Math.max(100, Math.floor(this.ttlMs / 3)));
    } catch (error) {
      if (this.released) return;
      const remaining = this.lock.expiration - Date.now();
      // A refused extension means another holder or a lost key; retry briefly in case Redis
      // only blipped, but never past the point where a new owner could take over.
      if (remaining > this.ttlMs / 3) {
        this.logger.warn({ partition: this.partition, err: error }, 'lease extension failed; retrying');
        this.schedule(200);
      } else {
        this.markLost('lease extension refused');
      }
    }
  }

  private markLost(reason: string): void {
    if (this.lost || this.released) return;
    this.lost = true;
    if (this.timer) clearTimeout(this.timer);
    this.logger.warn({ partition: this.partition, reason }, 'partition lease lost');
    this.onLost(reason);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    // Release deletes the key only if it still holds our value, so it is safe after a loss too.
    await Promise.race([
      this.lock.release().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
