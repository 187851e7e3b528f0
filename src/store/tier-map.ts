/**
 * The tiered store's local tier: a bounded map whose entries carry their own deadline,
 * with least-recently-used eviction approximated by second chance (CLOCK): a hit only
 * marks its entry used; when the map is full, the oldest entries that were used since
 * their last pass move to the back and the first unused one goes. A hit costs one Map
 * lookup, one comparison and one flag: no recency reordering (a Map delete + set per hit
 * measured twice as dear as the whole check), no clock read (the caller gives `now`), no
 * timer (lru-cache's TTL reads `performance.now()` on every get and arms a `setTimeout`
 * to cache it).
 */
interface Slot<V> {
  entry: V;
  used: boolean;
}

export class TierMap<V extends { until: number }> {
  private readonly slots = new Map<string, Slot<V>>();

  constructor(private readonly max: number) {}

  /** The entry under `key` if its deadline is after `now` (epoch ms); an expired one is dropped. */
  get(key: string, now: number): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.entry.until <= now) {
      this.slots.delete(key);
      return undefined;
    }
    slot.used = true;
    return slot.entry;
  }

  /** Stores `entry` as the newest; when the map is full, the oldest entry not used since its last pass goes. */
  set(key: string, entry: V): void {
    this.slots.delete(key);
    // room first, so the newcomer is never the one evicted; a full pass clears every flag, so this ends
    while (this.slots.size >= this.max) {
      const [oldestKey, oldest] = this.slots.entries().next().value as [string, Slot<V>];
      this.slots.delete(oldestKey);
      if (!oldest.used) break;
      oldest.used = false; // a second chance: to the back of the line
      this.slots.set(oldestKey, oldest);
    }
    this.slots.set(key, { entry, used: false });
  }

  delete(key: string): void {
    this.slots.delete(key);
  }

  clear(): void {
    this.slots.clear();
  }

  get size(): number {
    return this.slots.size;
  }
}
