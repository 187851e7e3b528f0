/**
 * The embedded store: one process, bounded, entries forgotten when their token
 * expires. Fine for a single instance and for tests; use the Redis or tiered
 * store when several app instances must agree.
 */
import { TokenStoreError } from '../core/errors';
import { MemorySessions } from './memory-sessions';
import type {
  RefreshTokenUse, RefreshTokenUseOutcome, StoreEntry, StoredToken, TokenQuery, TokenState, TokenStore,
} from './token-store';

export interface MemoryTokenStoreOptions {
  /** Most records kept, all identities together. Default 100 000. */
  max?: number;
  /** Most records kept per identity; beyond it the identity's own oldest record is forgotten. Default 100. */
  maxPerIdentity?: number;
}

interface Held {
  identity: string;
  record: StoredToken;
  /** ms since the epoch; `Infinity` for a token that never expires. */
  expiresAtMs: number;
}

function copy(record: StoredToken): StoredToken {
  return { token: record.token, revoked: record.revoked };
}

/** Bare jtis revoked in blocklist mode share this identity; it has no per-identity bound. */
const UNKNOWN_IDENTITY = '';

/**
 * Fairness: one identity can never push out another's live record. An identity over
 * `maxPerIdentity` loses its own oldest record (in allowlist mode: its oldest session); when
 * the whole store is full of other identities' live records, `add` rejects with a
 * `TokenStoreError` (token creation answers 503) instead of logging anyone out.
 *
 * Every call is answered synchronously inside its promise, so each is atomic: of concurrent
 * `useRefreshToken` calls with one jti exactly one gets `rotated`. Nothing is ever stale.
 *
 * @example
 * JwtManager.configure({ secret, revocation: { store: new MemoryTokenStore({ maxPerIdentity: 20 }), checks: 'all' } })
 */
export class MemoryTokenStore implements TokenStore {
  readonly max: number;
  readonly maxPerIdentity: number;
  private readonly records = new Map<string, Held>();
  /** Each identity's jtis, oldest first (a Set keeps insertion order). */
  private readonly byIdentity = new Map<string, Set<string>>();
  private readonly sessions = new MemorySessions();

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.max = options.max ?? 100_000;
    this.maxPerIdentity = options.maxPerIdentity ?? 100;
  }

  async add(entry: StoreEntry): Promise<void> {
    const expiresAtMs = entry.expiresAt === undefined ? Infinity : entry.expiresAt * 1000;
    if (expiresAtMs <= Date.now()) return; // already expired: nothing to remember
    this.forget(entry.jti);
    this.makeRoomFor(entry.identity);
    this.records.set(entry.jti, { identity: entry.identity, record: copy(entry.record), expiresAtMs });
    let jtis = this.byIdentity.get(entry.identity);
    if (!jtis) this.byIdentity.set(entry.identity, (jtis = new Set()));
    jtis.add(entry.jti);
  }

  peek(jti: string): StoredToken | undefined {
    return this.live(jti)?.record;
  }

  async find(jti: string): Promise<StoredToken | undefined> {
    const held = this.live(jti);
    return held && copy(held.record);
  }

  async setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined> {
    const held = this.live(jti);
    if (!held) return undefined;
    held.record.revoked = revoked;
    return copy(held.record);
  }

  async findByIdentity(identity: string): Promise<StoredToken[]> {
    const found: StoredToken[] = [];
    for (const jti of [...(this.byIdentity.get(identity) ?? [])]) {
      const held = this.live(jti);
      if (held) found.push(copy(held.record));
    }
    return found;
  }

  async findAll(): Promise<StoredToken[]> {
    this.sweep();
    return [...this.records.values()].map((held) => copy(held.record));
  }

  async close(): Promise<void> {
    this.records.clear();
    this.byIdentity.clear();
    this.sessions.clear();
  }

  peekState(query: TokenQuery): TokenState {
    return { record: this.peek(query.jti), ...this.sessions.state(query) };
  }

  async inspect(query: TokenQuery): Promise<TokenState> {
    const state = this.peekState(query);
    return { ...state, record: state.record && copy(state.record) };
  }

  async cutoff(identity: string): Promise<number> {
    return this.sessions.cutoff(identity);
  }

  async revokeAll(identity: string, keepSeconds: number | undefined): Promise<number> {
    return this.sessions.revokeAll(identity, keepSeconds);
  }

  async useRefreshToken(use: RefreshTokenUse): Promise<RefreshTokenUseOutcome> {
    return this.sessions.useRefreshToken(use);
  }

  async revokeFamily(family: string, keepUntil: number | undefined): Promise<void> {
    this.sessions.revokeFamily(family, keepUntil);
  }

  /** The record of `jti` while its token lives; an expired one is dropped on the way. */
  private live(jti: string): Held | undefined {
    const held = this.records.get(jti);
    if (held && held.expiresAtMs <= Date.now()) {
      this.forget(jti);
      return undefined;
    }
    return held;
  }

  private forget(jti: string): void {
    const held = this.records.get(jti);
    if (!held) return;
    this.records.delete(jti);
    const jtis = this.byIdentity.get(held.identity);
    jtis?.delete(jti);
    if (jtis?.size === 0) this.byIdentity.delete(held.identity);
  }

  /** Frees one place for `identity`: its own oldest record first, never another identity's live one. */
  private makeRoomFor(identity: string): void {
    const own = this.byIdentity.get(identity);
    if (own && identity !== UNKNOWN_IDENTITY) {
      for (const jti of [...own]) if (!this.live(jti)) own.delete(jti);
      for (const jti of own) {
        if (own.size < this.maxPerIdentity) break;
        this.forget(jti); // deleting the current member of a Set while iterating it is safe
      }
    }
    if (this.records.size < this.max) return;
    this.sweep();
    if (this.records.size >= this.max) {
      throw new TokenStoreError(
        `Memory token store is full: ${this.max} live records of other identities (raise max, or use a Redis store)`,
      );
    }
  }

  /** Drops every expired record and session entry. */
  private sweep(): void {
    const now = Date.now();
    for (const [jti, held] of this.records) if (held.expiresAtMs <= now) this.forget(jti);
    this.sessions.sweep(now);
  }
}
