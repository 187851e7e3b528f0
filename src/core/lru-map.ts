/**
 * A bounded map with least-recently-used eviction, on `lru-cache` (the design card's choice)
 * without its TTL: no `ttl` option, so a get reads no clock and arms no timer; an entry that
 * expires carries its own deadline in its value (the tiered store's tier, tier-map.ts). It holds
 * the verified tokens and the tiered store's local tier, both on the request path.
 */
import { LRUCache } from 'lru-cache';

export class LruMap<V extends {}, K extends {} = string> {
  readonly #entries: LRUCache<K, V>;

  constructor(max: number) {
    this.#entries = new LRUCache<K, V>({ max });
  }

  /** The value under `key`, now the most recently used. */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Stores `value` as the most recently used; when full, the least recently used entry goes. */
  set(key: K, value: V): void {
    this.#entries.set(key, value);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
