/**
 * The tiered store's local tier: an {@link LruMap} (lru-cache without its TTL) whose entries
 * carry their own deadline, read against a `now` the caller takes once per lookup. No clock read
 * and no timer per entry (lru-cache's TTL reads `performance.now()` on every get and arms a
 * `setTimeout` to cache it: a timer per request on a lightly loaded server).
 */
import { LruMap } from '../core/lru-map';

export class TierMap<V extends { until: number }> extends LruMap<V> {
  /** The entry under `key` if its deadline is after `now` (epoch ms); an expired one is dropped. */
  live(key: string, now: number): V | undefined {
    const entry = this.get(key);
    if (entry === undefined || entry.until > now) return entry;
    this.delete(key);
    return undefined;
  }
}
