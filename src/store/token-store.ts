/**
 * The one interface every revocation store implements. All methods are async
 * because a store may be remote; a method that cannot answer rejects (the
 * request pipeline turns that into a 503, never into "allowed").
 */

import type { JwtPayload } from '../core/payload';

/** The decoded payload of a token, as stored. */
export type TokenPayload = JwtPayload;

/** What the seed's API returns for a stored token. */
export interface StoredToken {
  token: TokenPayload;
  revoked: boolean;
}

/** What the manager hands a store when a token of a checked type is created. */
export interface StoreEntry {
  jti: string;
  identity: string;
  /**
   * Unix seconds after which the record may be forgotten: the token's `exp`
   * plus the verification leeway. `undefined` for a token that never expires.
   */
  expiresAt: number | undefined;
  record: StoredToken;
}

export interface TokenStore {
  /** Stores the record of a newly created token. Resolves only once it is stored. */
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
}
