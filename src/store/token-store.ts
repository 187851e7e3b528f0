/**
 * The one interface every revocation store implements. All methods are async
 * because a store may be remote; a method that cannot answer rejects (the
 * request pipeline turns that into a 503, never into "allowed").
 *
 * The session methods (issue 13: cut-offs and refresh-token families) are optional so a
 * 0.1 custom store keeps working; `configure()` names the missing ones when an option needs
 * them, and `revokeAllTokens()` does the same.
 */

import type { JwtPayload } from '../core/payload';

/** The decoded payload of a token, as stored. */
export type TokenPayload = JwtPayload;

/** What the seed's API returns for a stored token. */
export interface StoredToken {
  token: TokenPayload;
  revoked: boolean;
}

/** What the manager hands a store when a token of a checked type is created (or, in blocklist mode, revoked). */
export interface StoreEntry {
  jti: string;
  /** The token's identity. */
  identity: string;
  /**
   * Unix seconds after which the record may be forgotten: the token's `exp`
   * plus the verification leeway. `undefined` for a token that never expires.
   */
  expiresAt: number | undefined;
  record: StoredToken;
  /**
   * Store it only if the store holds no record of `jti` (a rotated pair's records, written by the
   * winner and by every retry, in any order): a record already there is left exactly as it is (not
   * overwritten, not extended, not un-revoked), and one the store forgot while it was revoked is
   * not brought back. Resolves once the record is stored or found there; a store that cannot take
   * it rejects (503), as `add` does.
   */
  keepExisting?: boolean;
}

/** What the verifier asks about one token, in one call. */
export interface TokenQuery {
  jti: string;
  identity: string;
  /** The token's family (refresh rotation), when it has one. */
  family?: string;
  /**
   * The token's `iat` (Unix seconds), when it has one: a store that folded an identity's
   * revocations into a per-identity bound (`MemoryTokenStore` beyond `maxPerIdentity`) refuses
   * the tokens issued up to it. A query without it counts as issued before any such bound.
   */
  issuedAt?: number;
}

/** The state of one refresh-token family, as far as one token needs it. */
export interface FamilyState {
  /** The whole family is revoked (reuse detected, or revoked on purpose). */
  revoked: boolean;
  /**
   * When the queried jti was rotated (ms since the epoch, on this process's clock: a store with
   * a clock of its own, Redis's, answers "now here minus how long ago on its clock", so instances
   * whose clocks differ measure the reuse interval alike): exact for the jti rotated last and for
   * the up to `MAX_RECENT` rotated before it inside the reuse interval, `0` for one rotated
   * earlier (the store keeps no record of those); `undefined` if it never was.
   */
  usedAt: number | undefined;
}

/** Everything the store knows about one token. */
export interface TokenState {
  /** The jti's own record (allowlist: its creation record; blocklist: its revocation). */
  record: StoredToken | undefined;
  /** The identity's cut-off generation; `0` when `revokeAllTokens` was never called for it. */
  cutoff: number;
  /** The family's state; `undefined` when the query named no family. */
  family: FamilyState | undefined;
}

/**
 * How many refresh tokens rotated before a family's last one a store remembers while inside the
 * reuse interval: a retry of any of them (a tab that rotated twice while another retried the first
 * token) gets the family's newest pair. A chain of rotations faster than that is a client
 * refreshing in a loop; past it, reuse.
 */
export const MAX_RECENT = 8;

/** One rotation of a refresh token, handed to {@link TokenStore.useRefreshToken}. */
export interface RefreshTokenUse {
  family: string;
  /** The jti of the refresh token being rotated. */
  jti: string;
  /** The jti of the successor refresh token (in `answer`): the family's only unused token once rotated. */
  successor: string;
  /**
   * Now, in ms since the epoch (the caller's clock). A store shared by several instances should
   * decide with a clock of its own instead (the Redis stores use Redis's `TIME`).
   */
  now: number;
  /**
   * A second use of `jti` within this many ms of its first returns the family's newest `answer`
   * (also once newer tokens of the family were rotated, up to `MAX_RECENT` of them); later it is
   * reuse.
   */
  reuseIntervalMs: number;
  /**
   * Opaque, already encrypted (for the family, not the jti): what a retry inside the interval
   * gets back, replacing the previous answer, kept no longer than the interval. `''` when the interval is 0.
   */
  answer: string;
  /**
   * Unix seconds until which the family's state must be kept once rotated (past every token the
   * rotation makes and the one presented); `undefined` = for ever. Kept the latest ever given.
   */
  keepUntil: number | undefined;
  /**
   * When the use is a reuse (the family revoked): unix seconds it is kept at least until (past the
   * presented token and those made with it; later ones are covered by `keepUntil` of the
   * rotations), never shorter than it already is; `undefined` = for ever.
   */
  reuseKeepUntil: number | undefined;
  /**
   * Allowlist: the records of the new pair (each `keepExisting`), set only for this package's own
   * stores (`RedisTokenStore`, `TieredTokenStore`), which write them in the same atomic step when
   * the outcome is `rotated` and answer `recorded: true`. Any other store gets none: the records
   * are stored after the step with its `add()`. Never written for any other outcome.
   */
  records?: StoreEntry[];
}

/**
 * The outcome of a rotation: `rotated` (first use: the caller's pair is the answer; `recorded`:
 * its `records` were written in the same step),
 * `retry` (a second use inside the interval: `answer` is the family's newest), `reused` (a second
 * use after it: the store has revoked the family), `revoked` (the family was revoked already).
 */
export type RefreshTokenUseOutcome =
  | { outcome: 'rotated'; recorded?: true }
  | { outcome: 'retry'; answer: string }
  | { outcome: 'reused' }
  | { outcome: 'revoked' };

/**
 * One record the DPoP replay cache keeps once (`rememberOnce`): `key` (a proof's jti) in
 * `group` (its key's thumbprint) until `expiresAt`.
 */
export interface OnceEntry {
  group: string;
  key: string;
  /** Epoch ms after which the record may go (the proof's iat has left the window by then). */
  expiresAt: number;
  /** Most live records `group` may hold; one more is `'full'` (refused, nothing dropped). */
  maxPerGroup: number;
}

/** `new`: recorded now; `seen`: already recorded and live (a replay); `full`: the group holds `maxPerGroup` live records. */
export type OnceOutcome = 'new' | 'seen' | 'full';

/**
 * What a revocation store implements. The built-in stores are `MemoryTokenStore`, `RedisTokenStore` and `TieredTokenStore`; a custom store implements this interface.
 */
export interface TokenStore {
  /** Stores the record of a newly created token (or a blocklist revocation). Resolves only once it is stored. */
  add(entry: StoreEntry): Promise<void>;
  /** The record of `jti`, or `undefined` when the store does not hold it. */
  find(jti: string): Promise<StoredToken | undefined>;
  /**
   * Sets the revoked flag of `jti`; resolves with the updated record, or
   * `undefined` when the store does not hold it. Resolves only once stored.
   */
  setRevoked(jti: string, revoked: boolean): Promise<StoredToken | undefined>;
  /** Every live record of one identity. */
  findByIdentity(identity: string): Promise<StoredToken[]>;
  /** Every live record. */
  findAll(): Promise<StoredToken[]>;
  /** Releases connections and timers. */
  close(): Promise<void>;
  /**
   * Optional hot path: the record of `jti` when it can be answered from memory
   * right now, without I/O (an LRU tier); `undefined` = ask `find()`. The record
   * is read, never modified, by the caller.
   */
  peek?(jti: string): StoredToken | undefined;

  /**
   * The record, the identity's cut-off and the family state of one token. Each part is as
   * fresh as the store says in its TSDoc (the tiered store: its invalidation bound); the parts
   * need not be read atomically together (each only ever moves towards "revoked").
   */
  inspect?(query: TokenQuery): Promise<TokenState>;
  /** `inspect()` answered from memory without I/O, or `undefined` (then call `inspect()`). */
  peekState?(query: TokenQuery): TokenState | undefined;
  /**
   * The identity's current cut-off generation (`0` if none): written into new tokens, which
   * count as revoked once the cut-off moves past it. May be stale by the store's bound.
   */
  cutoff?(identity: string): Promise<number>;
  /**
   * Moves the identity's cut-off strictly past every generation handed out so far (atomic),
   * keeps it at least `keepSeconds` (`undefined` = for ever), and resolves with the new one
   * once stored and announced.
   */
  revokeAll?(identity: string, keepSeconds: number | undefined): Promise<number>;
  /**
   * Marks `use.jti` used in its family, atomically: of concurrent calls with one jti exactly one
   * gets `rotated`; a use of a jti rotated inside the interval (the last one or, up to
   * `MAX_RECENT`, those before it) gets `retry` with the family's newest answer and writes
   * nothing. A family's state is bounded whatever its number of rotations. See {@link RefreshTokenUseOutcome}.
   */
  useRefreshToken?(use: RefreshTokenUse): Promise<RefreshTokenUseOutcome>;
  /** Revokes a whole family; kept at least until `keepUntil` (unix seconds, `undefined` = for ever), never shorter than it already is. Resolves once stored. */
  revokeFamily?(family: string, keepUntil: number | undefined): Promise<void>;
  /**
   * DPoP replay cache (issue 24): records `entry.key` in `entry.group` unless it is already
   * there and live, atomically across every instance sharing the store; never drops a live
   * record (a full group answers `'full'`). Without it, proofs are remembered in process memory.
   */
  rememberOnce?(entry: OnceEntry): Promise<OnceOutcome>;
}

/** The methods `revokeAllTokens()` needs of a store. */
export const CUTOFF_METHODS = ['inspect', 'cutoff', 'revokeAll'] as const;
/** The methods `refreshRotation: true` needs of a store. */
export const ROTATION_METHODS = ['inspect', 'useRefreshToken', 'revokeFamily'] as const;

/** The methods of `names` that `store` lacks. */
export function missingMethods(store: object, names: readonly string[]): string[] {
  return names.filter((name) => typeof (store as Record<string, unknown>)[name] !== 'function');
}
