import type { Logger } from 'pino';
import type { CheckpointOutcome, CheckpointWrite } from '../postgres/checkpoint-store';
import { bumpPartitionEpoch, clearPartitionOwner } from '../postgres/lease-store';
import { listDueTimers, pageLiveTriggers, type LoadedTrigger } from '../postgres/scheduler-trigger-store';
import type { HeldLease } from '../redis/lease-manager';
import { TriggerActor, type ActorHost } from './actor';
import type { ActorOwner } from './actor-registry';
import type { SchedulerContext } from './scheduler-context';
import { TimerPoller } from './timer-poller';

type OwnerState = 'acquiring' | 'recovering' | 'running' | 'stopping' | 'stopped';

const RECOVERY_PAGE = 500;
const SWEEP_EVERY_MS = 5_000;
const ACTOR_RETRY_MS = 1_000;

/**
 * One incarnation of this process owning one partition: lease, epoch, timers, actors. It is
 * created when the partition is assigned (or regained) and never reused after it stops; the
 * next ownership is a new incarnation with a new epoch. Stopping flips `canStartWork` to false
 * synchronously, before anything else happens.
 */
export class PartitionOwner implements ActorHost, ActorOwner {
  epoch = 0;
  private state: OwnerState = 'acquiring';
  private lease: HeldLease | null = null;
  private poller: TimerPoller | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<string>();
  private readonly setupAbort = new AbortController();
  private stopping: Promise<void> | null = null;
  readonly logger: Logger;

  constructor(
    readonly partition: number,
    private readonly ctx: SchedulerContext,
    private readonly onLost: (owner: PartitionOwner, reason: string) => void,
  ) {
    this.logger = ctx.logger.child({ partition });
  }

  get providers() {
    return this.ctx.providers;
  }
  get decideDeps() {
    return this.ctx.decideDeps;
  }
  get providerTimeoutMs() {
    return this.ctx.providerTimeoutMs;
  }
  get status(): OwnerState {
    return this.state;
  }
  get parkedTimers(): number {
    return this.poller?.parkedCount ?? 0;
  }

  canStartWork(): boolean {
    return (this.state === 'recovering' || this.state === 'running') && this.lease !== null && this.lease.isValid();
  }

  start(): void {
    void this.takeOwnership();
  }

  /** Asks for a trigger to run (new message, due timer). Before recovery finishes it is queued. */
  wake(triggerId: string, urgent = false): void {
    if (this.state === 'acquiring') this.pending.add(triggerId);
    else if (this.canStartWork()) this.ctx.registry.wake(triggerId, this, urgent);
  }

  createActor(triggerId: string, urgent = false): TriggerActor {
    return new TriggerActor(triggerId, this, urgent);
  }

  onActorError(triggerId: string, error: unknown): void {
    this.logger.warn({ err: error, triggerId }, 'actor failed; retrying the trigger shortly');
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.wake(triggerId);
    }, ACTOR_RETRY_MS + Math.floor(Math.random() * ACTOR_RETRY_MS));
    this.retryTimers.add(timer);
  }

  load(triggerId: string, urgent = false): Promise<LoadedTrigger | null> {
    return this.ctx.loader.load(triggerId, urgent);
  }

  workflowVersion(workflowId: string, version: number) {
    return this.ctx.workflows.get(workflowId, version);
  }

  async checkpoint(write: CheckpointWrite, urgent = false): Promise<CheckpointOutcome> {
    const outcome = await this.ctx.batcher.submit(write, urgent);
    this.ctx.loader.forget(write.triggerId);
    if (outcome.kind === 'written') this.ctx.metrics?.recordWritten(write.logs, Date.now());
    if (outcome.kind === 'fenced') {
      this.logger.warn(
        { triggerId: write.triggerId, myEpoch: write.epoch, currentEpoch: outcome.currentEpoch, fencedWrites: this.ctx.batcher.counters.fenced },
        'checkpoint fenced',
      );
      this.lose('checkpoint fenced: another owner has a newer epoch');
    }
    return outcome;
  }

  async armTimer(triggerId: string, wakeAt: Date): Promise<void> {
    // When not running, Postgres wake_at already holds the timer; the next owner rebuilds it.
    if (!this.poller || (this.state !== 'recovering' && this.state !== 'running')) return;
    try {
      await this.poller.arm(triggerId, wakeAt);
    } catch (error) {
      // wake_at is checkpointed, so the Postgres sweep finds the trigger once it is overdue.
      this.logger.warn({ err: error, triggerId }, 'could not park timer in Redis; the sweep will wake it');
    }
  }

  private async takeOwnership(): Promise<void> {
    const { ctx, partition } = this;
    try {
      this.lease = await ctx.leases.acquire(partition, this.setupAbort.signal, (reason) => this.lose(`lease ${reason}`));
      if (!this.lease) return;
      this.epoch = await this.bumpEpoch();
      if (this.state !== 'acquiring') return;
      this.poller = new TimerPoller({
        partition,
        wheel: ctx.wheel,
        lookaheadMs: ctx.config.scheduler.timerLookaheadMs,
        freeCapacity: () => ctx.registry.freeCapacity(),
        onDue: (id) => this.wake(id, true),
        prefetch: (ids, ttlMs) => ctx.loader.prefetch(ids, ttlMs),
        logger: this.logger,
      });
      this.state = 'recovering';
      this.logger.info({ epoch: this.epoch }, 'partition owned');
      this.poller.start();
      this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
      const resumed = await this.recover();
      if (this.state !== 'recovering') return;
      this.state = 'running';
      const queued = [...this.pending];
      this.pending.clear();
      for (const id of queued) ctx.registry.wake(id, this);
      this.logger.info({ epoch: this.epoch, resumed }, 'partition recovered');
    } catch (error) {
      if (this.state === 'stopping' || this.state === 'stopped') return;
      this.logger.error({ err: error }, 'taking partition ownership failed');
      this.lose('ownership setup failed');
    }
  }

  private async bumpEpoch(): Promise<number> {
    for (;;) {
      try {
        return await bumpPartitionEpoch(this.ctx.knex, this.partition, this.ctx.config.scheduler.id);
      } catch (error) {
        // A frozen old owner may hold the lease row; Postgres ends its idle transaction soon.
        if (this.setupAbort.signal.aborted) throw error;
        this.logger.warn({ err: error }, 'epoch bump failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * Resumes every non-terminal trigger of the partition: parked ones get their timer back in
   * Redis (ZADD is idempotent, so this also rebuilds a set Redis lost); the rest get an actor.
   */
  private async recover(): Promise<number> {
    let afterId: string | null = null;
    let resumed = 0;
    for (;;) {
      const page = await pageLiveTriggers(this.ctx.knex, this.partition, afterId, RECOVERY_PAGE);
      if (page.length === 0 || this.state !== 'recovering') return resumed;
      const parked = page.filter((t) => t.wakeAt && !t.hasRunningStep && t.status === 'processing');
      await this.ctx.wheel.add(this.partition, parked.map((t) => ({ triggerId: t.id, wakeAtMs: (t.wakeAt as Date).getTime() })));
      for (const trigger of page) {
        if (parked.includes(trigger)) continue;
        await this.ctx.registry.waitForCapacity(this.setupAbort.signal);
        if (this.state !== 'recovering') return resumed;
        this.ctx.registry.wake(trigger.id, this);
        resumed += 1;
      }
      afterId = page[page.length - 1].id;
    }
  }

  /** The safety net behind Redis: parked triggers overdue by more than a grace period get woken. */
  private async sweep(): Promise<void> {
    if (!this.canStartWork()) return;
    const graceMs = Math.max(2_000, this.ctx.config.scheduler.timerLookaheadMs * 2);
    const limit = Math.min(500, this.ctx.registry.freeCapacity());
    if (limit <= 0) return;
    try {
      const due = await listDueTimers(this.ctx.knex, [this.partition], new Date(Date.now() - graceMs), limit);
      const missed = due.filter((t) => !this.ctx.registry.has(t.id));
      if (missed.length > 0) this.logger.warn({ count: missed.length }, 'woke overdue timers missing from Redis');
      for (const timer of missed) this.wake(timer.id, true);
    } catch (error) {
      this.logger.debug({ err: error }, 'timer sweep failed');
    }
  }

  /** Lost (lease, fence, setup failure): stop at once without waiting for in-flight steps. */
  private lose(reason: string): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.logger.warn({ reason, epoch: this.epoch }, 'partition lost');
    void this.stop({ graceful: false });
    this.onLost(this, reason);
  }

  /**
   * Graceful (revocation, shutdown): no new work, wait up to drainTimeoutMs for in-flight steps
   * to finish and be checkpointed, abort the rest, hand timers back, release the lease.
   */
  stop({ graceful }: { graceful: boolean }): Promise<void> {
    if (this.stopping) return this.stopping;
    this.state = 'stopping';
    this.setupAbort.abort();
    const actors = this.ctx.registry.actorsOf(this);
    for (const { actor } of actors) actor.stop();
    this.stopping = this.finishStop(graceful, actors);
    return this.stopping;
  }

  private async finishStop(graceful: boolean, actors: Array<{ actor: TriggerActor; done: Promise<void> }>): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.pending.clear();
    const handBack = graceful && this.lease !== null && this.lease.isValid();
    await this.poller?.stop(handBack);
    if (graceful && actors.length > 0) {
      const settled = await waitAll(actors.map((a) => a.done), this.ctx.drainTimeoutMs);
      if (!settled) {
        this.logger.warn({ inFlight: actors.length }, 'drain deadline passed; aborting in-flight steps');
        for (const { actor } of actors) actor.abortInFlight();
        await waitAll(actors.map((a) => a.done), 1_000);
      }
    }
    if (this.lease) {
      if (graceful && this.epoch > 0) await clearPartitionOwner(this.ctx.knex, this.partition, this.epoch).catch(() => undefined);
      await this.lease.release();
    }
    this.state = 'stopped';
    this.logger.info({ graceful, epoch: this.epoch }, 'partition released');
  }
}

async function waitAll(promises: Array<Promise<void>>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.all(promises).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
