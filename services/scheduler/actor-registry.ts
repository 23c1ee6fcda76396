import type { Logger } from 'pino';
import type { TriggerActor } from './actor';

/** The side of a partition incarnation that the registry talks to. */
export interface ActorOwner {
  readonly partition: number;
  canStartWork(): boolean;
  createActor(triggerId: string, urgent: boolean): TriggerActor;
  /** An actor's pass threw (database down, ...): try the trigger again later. */
  onActorError(triggerId: string, error: unknown): void;
}

interface Entry {
  actor: TriggerActor;
  owner: ActorOwner;
  done: Promise<void>;
  /** A newer incarnation of the partition woke this trigger while an old actor was still settling. */
  successor?: ActorOwner;
}

/**
 * At most one actor per trigger in this process, and a bound on how many are in memory.
 * A wake for a trigger whose actor is busy becomes a re-run of that actor; a wake from a new
 * incarnation of the partition waits until the old actor has settled, so a step is never sent
 * by two actors of this process at once even across a lost-and-regained partition.
 */
export class ActorRegistry {
  private readonly entries = new Map<string, Entry>();
  private capacityWaiters: Array<() => void> = [];

  constructor(
    private readonly maxActors: number,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  freeCapacity(): number {
    return Math.max(0, this.maxActors - this.entries.size);
  }

  has(triggerId: string): boolean {
    return this.entries.has(triggerId);
  }

  /**
   * Resolves when an actor slot is free (back-pressure for the consumer and for recovery), the
   * signal aborts, or `timeoutMs` passes. Every way out removes both the waiter and its abort
   * listener: a caller that gave up by racing a timer used to leave them behind, one per second.
   */
  waitForCapacity(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (this.entries.size < this.maxActors || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const index = this.capacityWaiters.indexOf(done);
        if (index >= 0) this.capacityWaiters.splice(index, 1);
        resolve();
      };
      this.capacityWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  /** `urgent`: a due timer; a new actor's reads and writes then go ahead of fresh work. */
  wake(triggerId: string, owner: ActorOwner, urgent = false): void {
    const entry = this.entries.get(triggerId);
    if (entry) {
      if (entry.owner === owner) entry.actor.rewake = true;
      else entry.successor = owner;
      return;
    }
    this.start(triggerId, owner, urgent);
  }

  /** Actors run by `owner`, with a promise for each one's end. */
  actorsOf(owner: ActorOwner): Array<{ actor: TriggerActor; done: Promise<void> }> {
    const out: Array<{ actor: TriggerActor; done: Promise<void> }> = [];
    for (const entry of this.entries.values()) if (entry.owner === owner) out.push({ actor: entry.actor, done: entry.done });
    return out;
  }

  private start(triggerId: string, owner: ActorOwner, urgent = false): void {
    const actor = owner.createActor(triggerId, urgent);
    const entry = { actor, owner } as Entry;
    entry.done = actor
      .run()
      .catch((error: unknown) => {
        if (owner.canStartWork()) owner.onActorError(triggerId, error);
        else this.logger.debug({ err: error, triggerId }, 'actor of a stopped partition ended with an error');
      })
      .finally(() => this.finish(triggerId, entry));
    this.entries.set(triggerId, entry);
  }

  private finish(triggerId: string, entry: Entry): void {
    if (this.entries.get(triggerId) !== entry) return;
    this.entries.delete(triggerId);
    const successor = entry.successor;
    if (successor && successor.canStartWork()) {
      this.start(triggerId, successor);
      return;
    }
    const waiter = this.capacityWaiters.shift();
    if (waiter) waiter();
  }
}
