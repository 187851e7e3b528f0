/**
 * The embedded store: one process, bounded, entries forgotten when their token
 * expires. Fine for a single instance and for tests; use the Redis or tiered
 * store when several app instances must agree.
 */
import { LRUCache } from 'lru-cache';
import type { StoreEntry, StoredToken, TokenStore } from './token-store';

export interface MemoryTokenStoreOptions {
  /** Most records kept; the least recently used is forgotten beyond it (and its token then counts as revoked). */
  max?: number;
}

interface Held {
  identity: string;
  record: StoredToken;
}

function copy(record: StoredToken): StoredToken {
  return { token: record.token, revoked: record.revoked };
}

/**
 * @example
 * JwtManager.configure({ secret, revocation: { store: new MemoryTokenStore(), checks: 'all' } })
 */
export class MemoryTokenStore implements TokenStore {
  private readonly records: LRUCache<string, Held>;
  private readonly byIdentity = new Map<string, Set<string>>();

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.records = new LRUCache<string, Held>({
      max: options.max ?? 100_000,
      ttlAutopurge: false,
      dispose: (held, jti) => this.unindex(held.identity, jti),
    });
  }

  private unindex(identity: string, jti: string): void {
    const jtis = this.byIdentity.get(identity);
    jtis?.delete(jti);
    if (jtis?.size === 0) this.byIdentity.delete(identity);
  }

  async add(entry: StoreEntry): Promise<void> {
    const ttlMs = entry.expiresAt === undefined ? undefined : entry.expiresAt * 1000 - Date.now();
    if (ttlMs !== undefined && ttlMs <= 0) return; // already expired: nothing to remember
    this.records.set(entry.jti, { identity: entry.identity, record: copy(entry.record) }, { ttl: ttlMs === undefined ? undefined : Math.ceil(ttlMs) });
    let jtis = this.byIdentity.get(entry.identity);
    if (!jtis) this.byIdentity.set(entry.identity, (jtis = new Set()));
    jtis.add(entry.jti);
  }

  peek(jti: string): StoredToken | undefined {
    return this.records.get(jti)?.record;
  }

  async find(jti: string): Promise<StoredToken | undefined> {
    const held = this.records.get(jti);
    return held && copy(held.record);
  }

  async setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined> {
    const held = this.records.get(jti);
    if (!held) return undefined;
    held.record.revoked = revoked;
    return copy(held.record);
  }

  async findByIdentity(identity: string): Promise<StoredToken[]> {
    const found: StoredToken[] = [];
    for (const jti of [...(this.byIdentity.get(identity) ?? [])]) {
      const held = this.records.get(jti, { updateAgeOnGet: false });
      if (held) found.push(copy(held.record));
    }
    return found;
  }

  async findAll(): Promise<StoredToken[]> {
    this.records.purgeStale();
    return [...this.records.values()].map((held) => copy(held.record));
  }

  async close(): Promise<void> {
    this.records.clear();
  }
}
