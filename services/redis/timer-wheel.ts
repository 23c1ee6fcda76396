import type { Redis } from 'ioredis';

/**
 * The Redis side of parked triggers: one sorted set per partition, score = wake time in epoch
 * ms, member = trigger id. Postgres `wake_at` stays the source of truth; this set is only how
 * the owner finds due work without scanning Postgres, so every write here is idempotent.
 */

// Claim = read and remove in one step, so two pollers (an old and a new owner) never both get
// the same timer from Redis. Returns [member, score, member, score, ...].
const CLAIM_DUE_SCRIPT = `
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #items, 2 do
  redis.call('ZREM', KEYS[1], items[i])
end
return items
`;

export interface TimerEntry {
  triggerId: string;
  wakeAtMs: number;
}

type RedisWithClaim = Redis & {
  heraldClaimDue(key: string, uptoMs: string, limit: number): Promise<string[]>;
};

export class TimerWheel {
  private readonly redis: RedisWithClaim;

  constructor(redis: Redis, private readonly prefix: string) {
    if (!(redis as unknown as Partial<RedisWithClaim>).heraldClaimDue) {
      redis.defineCommand('heraldClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE_SCRIPT });
    }
    this.redis = redis as RedisWithClaim;
  }

  /** `herald:timers:{p}`: the braces are a Redis Cluster hash tag, so a partition's keys share a slot. */
  keyFor(partition: number): string {
    return `${this.prefix}timers:{${partition}}`;
  }

  async add(partition: number, entries: TimerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: Array<string | number> = [];
    for (const entry of entries) args.push(entry.wakeAtMs, entry.triggerId);
    await this.redis.zadd(this.keyFor(partition), ...args);
  }

  /** Atomically removes and returns up to `limit` timers due at or before `uptoMs`. */
  async claimDue(partition: number, uptoMs: number, limit: number): Promise<TimerEntry[]> {
    const flat = await this.redis.heraldClaimDue(this.keyFor(partition), String(Math.floor(uptoMs)), limit);
    const out: TimerEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ triggerId: flat[i], wakeAtMs: Number(flat[i + 1]) });
    return out;
  }

  async count(partition: number): Promise<number> {
    return this.redis.zcard(this.keyFor(partition));
  }

  async remove(partition: number, triggerIds: string[]): Promise<void> {
    if (triggerIds.length > 0) await this.redis.zrem(this.keyFor(partition), ...triggerIds);
  }
}
