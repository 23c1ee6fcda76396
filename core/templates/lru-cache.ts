/**
 * A bounded map that forgets the least recently used entries (Map keeps insertion order).
 * Bounded by entry count and by total weight, so that a few huge keys cannot pin memory.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight = Infinity,
    private readonly weigh: (key: K, value: V) => number = () => 1,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const existing = this.entries.get(key);
    if (existing) {
      this.totalWeight -= existing.weight;
      this.entries.delete(key);
    }
    const weight = this.weigh(key, value);
    if (weight > this.maxWeight) return; // Would evict everything else; not worth caching.
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    while (this.entries.size > this.maxEntries || this.totalWeight > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.totalWeight -= this.entries.get(oldest.value)!.weight;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const existing = this.entries.get(key);
    if (!existing) return;
    this.totalWeight -= existing.weight;
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
