import type { Logger } from 'pino';
import { PartitionOwner } from './partition-owner';
import type { SchedulerContext } from './scheduler-context';

const REGAIN_DELAY_MS = 1_000;

/**
 * Maps Kafka's assignment to partition incarnations. On every assignment the partitions no
 * longer ours are stopped first (synchronously flipped to "no new work", then drained in the
 * background until their lease is released); only then are new ones started. A partition lost
 * through its lease or a fenced write, but still assigned to us, is taken again after a pause
 * as a new incarnation with a new epoch.
 */
export class PartitionManager {
  private readonly owners = new Map<number, PartitionOwner>();
  private readonly stopping = new Set<Promise<void>>();
  private assigned = new Set<number>();
  private closed = false;
  private readonly logger: Logger;

  constructor(private readonly ctx: SchedulerContext) {
    this.logger = ctx.logger;
  }

  /** The full set of partitions Kafka now assigns us (called on every group join). */
  applyAssignment(partitions: number[], why: string): void {
    const next = new Set(partitions);
    const revoked = [...this.owners.keys()].filter((p) => !next.has(p));
    for (const partition of revoked) {
      const owner = this.owners.get(partition)!;
      this.owners.delete(partition);
      this.track(owner.stop({ graceful: true }));
    }
    this.assigned = this.closed ? new Set() : next;
    const added = [...this.assigned].filter((p) => !this.owners.has(p));
    for (const partition of added) this.startOwner(partition);
    if (revoked.length > 0 || added.length > 0) {
      this.logger.info({ why, revoked, added, assigned: [...this.assigned].sort((a, b) => a - b) }, 'partition assignment changed');
    }
  }

  isAssigned(partition: number): boolean {
    return this.assigned.has(partition);
  }

  wake(partition: number, triggerId: string): void {
    this.owners.get(partition)?.wake(triggerId);
  }

  owned(): PartitionOwner[] {
    return [...this.owners.values()];
  }

  /** Stops every partition gracefully and waits (bounded by each owner's drain deadline). */
  async stopAll(): Promise<void> {
    this.closed = true;
    this.applyAssignment([], 'shutdown');
    await Promise.all([...this.stopping]);
  }

  private startOwner(partition: number): void {
    const owner = new PartitionOwner(partition, this.ctx, (lost, reason) => this.onOwnerLost(lost, reason));
    this.owners.set(partition, owner);
    owner.start();
  }

  private track(stop: Promise<void>): void {
    this.stopping.add(stop);
    void stop.finally(() => this.stopping.delete(stop));
  }

  private onOwnerLost(owner: PartitionOwner, reason: string): void {
    if (this.owners.get(owner.partition) !== owner) return;
    this.owners.delete(owner.partition);
    this.track(owner.stop({ graceful: false }));
    if (this.closed || !this.assigned.has(owner.partition)) return;
    this.logger.info({ partition: owner.partition, reason }, 'partition lost while still assigned; taking it again');
    setTimeout(() => {
      if (!this.closed && this.assigned.has(owner.partition) && !this.owners.has(owner.partition)) this.startOwner(owner.partition);
    }, REGAIN_DELAY_MS);
  }
}
