/**
 * Session rules (issue 13), each in one place: the revocation decision for one checked token
 * (record, identity cut-off, family, reuse), and what the store must keep for how long.
 *
 * Cut-offs. `revokeAllTokens(identity)` moves the identity's cut-off generation; every checked
 * token carries, in its private `gen` claim, the generation current when it was created, and a
 * token whose `gen` is below the identity's cut-off counts as revoked. A generation rather than
 * a time: `iat` has whole seconds and instances' clocks differ, so "created before the call"
 * cannot be told from a timestamp, while a generation read from the store at creation orders
 * tokens after the cut-off exactly (a re-login right after a logout-everywhere, same second or
 * not, carries the new generation). Generations are `max(previous + 1, now in ms)`, so one
 * handed out before a cut-off was forgotten (after the longest token lifetime) is still below
 * the next cut-off.
 *
 * Families. Every refresh token created with `refreshRotation` on starts a family (the private
 * `fam` claim); the pair `rotateRefreshToken()` returns carries the same `fam`. The store marks a
 * rotated jti used (atomically); a used refresh token presented again, outside
 * `reuseIntervalSeconds`, revokes the family (RFC 9700 §4.14.2). A refresh token without `fam`
 * (made before rotation was turned on) is its own family, named by its jti.
 */
import { publishRefreshReuse, publishRevocation, publishStoreError } from './diagnostics';
import { RevokedTokenError } from './errors';
import { callStore, unavailable } from './store-call';
import type { JwtConfig, RevocationConfig } from './options';
import type { TokenPayload } from './responses';
import type { StoredToken, TokenQuery, TokenState, TokenStore } from '../store/token-store';

/** The private claim holding a token's refresh-token family. */
export const FAMILY_CLAIM = 'fam';
/** The private claim holding the cut-off generation current when the token was created. */
export const CUTOFF_CLAIM = 'gen';

/** Whether the store is asked about tokens of this type (`checks: 'refresh'` leaves access tokens alone). */
export function isCheckedType(revocation: RevocationConfig | undefined, type: unknown): revocation is RevocationConfig {
  return revocation !== undefined && (revocation.checks === 'all' || type === 'refresh');
}

/** Seconds the longest-lived token of this configuration can live (plus leeway); `undefined` when one kind never expires. */
export function longestLifetime(config: JwtConfig): number | undefined {
  const { accessTokenExpires: access, refreshTokenExpires: refresh } = config;
  if (access === false || refresh === false) return undefined;
  return Math.max(access, refresh) + config.leeway;
}

/** Unix seconds until which session state written now must be kept; `undefined` = for ever. */
export function keepUntil(config: JwtConfig): number | undefined {
  const lifetime = longestLifetime(config);
  return lifetime === undefined ? undefined : Math.ceil(Date.now() / 1000) + lifetime;
}

/** The family a token belongs to: its `fam` claim, or (rotation on, a refresh token) its own jti. */
export function familyOf(payload: TokenPayload, revocation: RevocationConfig): string | undefined {
  const family = payload[FAMILY_CLAIM];
  if (typeof family === 'string' && family !== '') return family;
  return revocation.refreshRotation && payload.type === 'refresh' ? (payload.jti as string) : undefined;
}

/** Whether the record settles the token as revoked, by mode: an allowlist refuses the unknown, a blocklist only the revoked. */
function isRecordRevoked(record: StoredToken | undefined, revocation: RevocationConfig): boolean {
  if (revocation.mode === 'blocklist') return record?.revoked === true;
  return !record || record.revoked !== false;
}

/**
 * The store check of one token of a checked type: `undefined` when answered at once (from the
 * store's memory tier), else the pending lookup. Throws `RevokedTokenError`, or (the store
 * failing, a throwing `peek` included) `StoreUnavailableError`.
 */
export function checkSession(config: JwtConfig, revocation: RevocationConfig, payload: TokenPayload): Promise<void> | undefined {
  const store = revocation.store;
  const jti = payload.jti as string;
  if (typeof store.inspect !== 'function') {
    const known = peekSafely(() => store.peek?.(jti));
    const judge = (record: StoredToken | undefined): undefined => {
      if (isRecordRevoked(record, revocation)) throw new RevokedTokenError(payload);
      return undefined;
    };
    if (known !== undefined) return judge(known);
    return callStore('find', () => store.find(jti), unavailable).then(judge);
  }
  const query: TokenQuery = { jti, identity: String(payload[config.identityClaim]), family: familyOf(payload, revocation) };
  if (typeof payload.iat === 'number') query.issuedAt = payload.iat;
  let state: TokenState | undefined;
  try {
    state = store.peekState?.(query); // the hot path: no closure, no promise
  } catch (error) {
    publishStoreError(error, 'peek');
    throw unavailable(error);
  }
  if (state !== undefined) return judgeState(state, query, config, revocation, payload);
  return callStore('inspect', () => store.inspect!(query), unavailable).then((found) => judgeState(found, query, config, revocation, payload));
}

/** A synchronous store read; a custom store that throws there answers 503, not 500. */
function peekSafely<T>(peek: () => T): T {
  try {
    return peek();
  } catch (error) {
    publishStoreError(error, 'peek');
    throw unavailable(error);
  }
}

function judgeState(state: TokenState, query: TokenQuery, config: JwtConfig, revocation: RevocationConfig, payload: TokenPayload): Promise<void> | undefined {
  const generation = typeof payload[CUTOFF_CLAIM] === 'number' ? (payload[CUTOFF_CLAIM] as number) : 0;
  if (isRecordRevoked(state.record, revocation) || state.cutoff > generation || state.family?.revoked) {
    throw new RevokedTokenError(payload);
  }
  const usedAt = state.family?.usedAt;
  if (!revocation.refreshRotation || payload.type !== 'refresh' || usedAt === undefined) return undefined;
  const intervalMs = revocation.reuseIntervalSeconds * 1000;
  if (intervalMs > 0 && Date.now() - usedAt <= intervalMs) return undefined; // an honest retry: the route answers it
  publishRefreshReuse(payload, query.family!);
  return revokeFamily(config, revocation.store, query.family!).then(() => { throw new RevokedTokenError(payload); });
}

/** Reuse detected: the whole family goes, kept revoked as long as any of its tokens can live. */
export async function revokeFamily(config: JwtConfig, store: TokenStore, family: string): Promise<void> {
  await callStore('revokeFamily', () => store.revokeFamily!(family, keepUntil(config)), unavailable);
  publishRevocation({ kind: 'family', family });
}
