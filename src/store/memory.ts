/**
 * The embedded store: one process, bounded, entries forgotten when their token
 * expires. Fine for a single instance and for tests; use the Redis or tiered
 * store when several app instances must agree.
 */
import { TokenStoreError } from '../core/errors';
import { MemorySessions } from './memory-sessions';
import { checkMemoryStoreOptions } from './store-options';
import type {
  RefreshTokenUse, RefreshTokenUseOutcome, StoreEntry, StoredToken, TokenQuery, TokenState, TokenStore,
} from './token-store';

/**
 * Bounds of the in-process store.
 */
export interface MemoryTokenStoreOptions {
  /**
   * Most records kept, all identities together (folded revocation bounds count as records).
   * Cut-offs and refresh-token families are bounded alike, `max` of each. Default 100 000.
   */
  max?: number;
  /**
   * Most records kept per identity. Beyond it the identity's own oldest record that can be
   * forgotten safely goes first; live revocations are never forgotten, but folded into one
   * per-identity bound (see the class TSDoc). Default 100.
   */
  maxPerIdentity?: number;
}

interface Held {
  identity: string;
  record: StoredToken;
  /** ms since the epoch; `Infinity` for a token that never expires. */
  expiresAtMs: number;
  /**
   * Added revoked (a blocklist revocation): while it stays revoked, forgetting it would make its
   * token valid again, so it is never evicted. A record added unrevoked (an allowlist creation
   * record) is forgotten safely: an unknown token is refused there.
   */
  isRevocation: boolean;
  /**
   * The jti was revoked under another identity too (a bare jti given someone else's identity):
   * which identity is the token's is unknown, so no identity's bound may fold it away.
   */
  isContested: boolean;
}

/** An identity's revocations folded together: its tokens issued up to `issuedUpTo` are refused. */
interface FoldedRevocations {
  /** Unix seconds: the newest `iat` among the folded tokens (their revocation time when unknown). */
  issuedUpTo: number;
  /** ms since the epoch: when the last folded token expires, and the bound with it. */
  expiresAtMs: number;
}

function copy(record: StoredToken): StoredToken {
  return { token: record.token, revoked: record.revoked };
}

/** Whether forgetting the record would turn a refusal into an acceptance. */
function mustKeep(held: Held): boolean {
  return held.isRevocation && held.record.revoked;
}

/**
 * Fairness: one identity can never push out another's live record. An identity over
 * `maxPerIdentity` loses its own oldest record that can be forgotten safely (in allowlist mode:
 * its oldest session, which is then refused). A live revocation (blocklist mode) is never
 * forgotten before its token's `exp`: when all of an identity's records are live revocations,
 * they are folded into one bound, "refuse this identity's tokens issued up to the newest of
 * them" (kept until the last of them expires), so memory stays bounded and the store degrades
 * toward refusing more (the identity's other tokens issued up to that second), never toward
 * accepting. A folded revocation can no longer be read back (`find`) nor lifted (`unrevokeToken`).
 * When the whole store is full of other identities' live records, `add` rejects with a
 * `TokenStoreError` (token creation and `revokeToken` answer 503) instead of logging anyone
 * out or forgetting a revocation.
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
  /** Per identity: its revocations folded into one bound once they alone exceeded `maxPerIdentity`. */
  private readonly folded = new Map<string, FoldedRevocations>();
  /** Each identity's jtis, oldest first (a Set keeps insertion order). */
  private readonly byIdentity = new Map<string, Set<string>>();
  private readonly sessions: MemorySessions;
  /**
   * jtis whose record `maxPerIdentity` forgot while it was revoked (allowlist: forgetting it is
   * safe, an unknown token is refused), until their token expires: a `keepExisting` add (a
   * rotation retry recording its pair) must not bring one back. At most `max` (oldest dropped).
   */
  private readonly forgottenRevoked = new Map<string, number>();

  /** Throws a `JwtConfigurationError` listing every bad option (`max: 0`, `NaN`, `1.5`, a string...). */
  constructor(options: MemoryTokenStoreOptions = {}) {
    checkMemoryStoreOptions(options);
    this.max = options.max ?? 100_000;
    this.maxPerIdentity = options.maxPerIdentity ?? 100;
    this.sessions = new MemorySessions(this.max);
  }

  async add(entry: StoreEntry): Promise<void> {
    const expiresAtMs = entry.expiresAt === undefined ? Infinity : entry.expiresAt * 1000;
    if (expiresAtMs <= Date.now()) return; // already expired: nothing to remember
    const previous = this.live(entry.jti);
    if (entry.keepExisting && (previous !== undefined || this.wasForgottenRevoked(entry.jti))) return;
    const isContested = entry.record.revoked && previous !== undefined && mustKeep(previous) && (previous.isContested || previous.identity !== entry.identity);
    this.forget(entry.jti);
    this.makeRoomFor(entry.identity);
    this.records.set(entry.jti, { identity: entry.identity, record: copy(entry.record), expiresAtMs, isRevocation: entry.record.revoked, isContested });
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
    this.folded.clear();
    this.forgottenRevoked.clear();
    this.sessions.clear();
  }

  peekState(query: TokenQuery): TokenState {
    const record = this.peek(query.jti);
    const revoked = record?.revoked !== false && this.isFoldedAway(query) ? FOLDED_RECORD : record;
    return { record: revoked, ...this.sessions.state(query) };
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

  /** Whether the identity's folded revocations cover a token issued at `query.issuedAt`. */
  private isFoldedAway(query: TokenQuery): boolean {
    const folded = this.folded.get(query.identity);
    if (folded === undefined) return false;
    if (folded.expiresAtMs <= Date.now()) {
      this.folded.delete(query.identity);
      return false;
    }
    return !(typeof query.issuedAt === 'number' && query.issuedAt > folded.issuedUpTo);
  }

  /**
   * Frees one place for `identity`: its own oldest record that can be forgotten safely, else its
   * live revocations folded into one bound; never another identity's live record.
   */
  private makeRoomFor(identity: string): void {
    const own = this.byIdentity.get(identity);
    if (own) {
      for (const jti of [...own]) if (!this.live(jti)) own.delete(jti);
      if (own.size >= this.maxPerIdentity) this.shrink(identity, own);
    }
    if (this.size() < this.max) return;
    this.sweep();
    if (this.size() >= this.max) {
      throw new TokenStoreError(
        `Memory token store is full: ${this.max} live records of other identities (raise max, or use a Redis store)`,
      );
    }
  }

  /** Records and folded bounds: both count against `max`. */
  private size(): number {
    return this.records.size + this.folded.size;
  }

  /**
   * Brings one identity under `maxPerIdentity`: forgettable records first (oldest first), then its
   * live revocations folded. One with an `iat` folds into "refuse this identity's tokens issued up
   * to the newest iat" (an iat ahead of the clock included: that refuses more, never less). One
   * without (a bare jti with `{ identity, expiresAt }`) has no iat to bound: "issued before now"
   * would miss a token whose iat is ahead of this clock (another issuer's, or a clock stepped
   * back), so it folds into the identity's cut-off instead (every token of the identity created
   * before the fold is refused, whatever the clocks: generations, not times; a new login works at
   * once; kept for ever). A contested revocation is never folded.
   */
  private shrink(identity: string, own: Set<string>): void {
    for (const jti of own) {
      if (own.size < this.maxPerIdentity) return;
      const held = this.records.get(jti)!;
      if (mustKeep(held)) continue;
      if (held.record.revoked) this.rememberForgottenRevoked(jti, held.expiresAtMs);
      this.forget(jti); // deleting the current member of a Set while iterating it is safe
    }
    if (own.size < this.maxPerIdentity) return;
    const now = Date.now();
    const folded = this.folded.get(identity);
    let { issuedUpTo, expiresAtMs } = folded && folded.expiresAtMs > now ? folded : { issuedUpTo: -Infinity, expiresAtMs: 0 };
    let hasBare = false;
    for (const jti of [...own]) {
      const held = this.records.get(jti)!;
      if (held.isContested) continue;
      const iat = held.record.token.iat;
      if (typeof iat === 'number' && Number.isFinite(iat)) {
        issuedUpTo = Math.max(issuedUpTo, iat);
        expiresAtMs = Math.max(expiresAtMs, held.expiresAtMs);
      } else {
        hasBare = true;
      }
      this.forget(jti);
    }
    if (issuedUpTo > -Infinity) this.folded.set(identity, { issuedUpTo, expiresAtMs });
    // kept for ever: one number per identity that ever folded bare revocations (a fold takes maxPerIdentity of them),
    // and the store cannot know how long the tokens it refuses live (blocklist mode stores none of them)
    if (hasBare) this.sessions.revokeAll(identity, undefined);
  }

  private rememberForgottenRevoked(jti: string, expiresAtMs: number): void {
    this.forgottenRevoked.delete(jti);
    this.forgottenRevoked.set(jti, expiresAtMs);
    if (this.forgottenRevoked.size > this.max) this.forgottenRevoked.delete(this.forgottenRevoked.keys().next().value!);
  }

  private wasForgottenRevoked(jti: string): boolean {
    const until = this.forgottenRevoked.get(jti);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.forgottenRevoked.delete(jti);
    return false;
  }

  /** Drops every expired record, folded bound and session entry. */
  private sweep(): void {
    const now = Date.now();
    for (const [jti, held] of this.records) if (held.expiresAtMs <= now) this.forget(jti);
    for (const [identity, folded] of this.folded) if (folded.expiresAtMs <= now) this.folded.delete(identity);
    for (const [jti, until] of this.forgottenRevoked) if (until <= now) this.forgottenRevoked.delete(jti);
    this.sessions.sweep(now);
  }
}

/** What a folded revocation reads as: revoked (the payload is gone). */
const FOLDED_RECORD: StoredToken = Object.freeze({ token: Object.freeze({}) as StoredToken['token'], revoked: true }) as StoredToken;
