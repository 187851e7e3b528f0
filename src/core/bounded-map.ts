/**
 * A bounded map with least-recently-used eviction approximated by second chance (CLOCK):
 * a hit only marks its entry used; when the map is full, the oldest entries that were used
 * since their last pass move to the back and the first unused one goes. A hit costs one Map
 * lookup and one flag: no recency reordering (a Map delete + set per hit measured twice as
 * dear as a whole revocation check) and none of lru-cache's per-get bookkeeping. It holds the
 * small caches off the hot path (parsed headers and keys, normalised DPoP URIs); the two request-path
 * caches (verified tokens, the tiered store's tier) are {@link LruMap}s, on lru-cache.
 */
interface Slot<V> {
  value: V;
  used: boolean;
}

export class BoundedMap<V, K = string> {
  private readonly slots = new Map<K, Slot<V>>();

  constructor(private readonly max: number) {}

  /** The value under `key`, marked used. */
  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  /** Stores `value` as the newest; when full, the oldest entry not used since its last pass goes. */
  set(key: K, value: V): void {
    this.slots.delete(key);
    // room first, so the newcomer is never the one evicted; a full pass clears every flag, so this ends
    while (this.slots.size >= this.max) {
      const [oldestKey, oldest] = this.slots.entries().next().value as [K, Slot<V>];
      this.slots.delete(oldestKey);
      if (!oldest.used) break;
      oldest.used = false; // a second chance: to the back of the line
      this.slots.set(oldestKey, oldest);
    }
    this.slots.set(key, { value, used: false });
  }

  delete(key: K): void {
    this.slots.delete(key);
  }

  clear(): void {
    this.slots.clear();
  }

  get size(): number {
    return this.slots.size;
  }
}
