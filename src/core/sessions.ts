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
import { publishRefreshReuse, publishRevocation } from './diagnostics';
import { RevokedTokenError } from './errors';
import { callStore, isRecordAnswer, isTokenStateAnswer, peekRecord, peekTokenState, unavailable } from './store-call';
import type { JwtConfig, RevocationConfig } from './options';
import type { TokenPayload } from './responses';
import type { StoredToken, TokenQuery, TokenState, TokenStore } from '../store/token-store';

/** The private claim holding a token's refresh-token family. */
export const FAMILY_CLAIM = 'fam';
/** The private claim holding the cut-off generation current when the token was created. */
export const CUTOFF_CLAIM = 'gen';
/** The private claim holding when a refresh token's family started (the first token's `iat`): `maxSessionLifetime` counts from it. */
export const SESSION_START_CLAIM = 'fst';

/**
 * A new token's `exp` under `maxSessionLifetime`: a refresh token (and the access token of a
 * rotated pair) never outlives its family's start + the bound, whatever its own lifetime.
 */
export function cappedExpiry(
  config: JwtConfig, type: 'access' | 'refresh', exp: number | undefined, now: number, session: { startedAt: number } | undefined,
): number | undefined {
  const bound = config.revocation?.maxSessionLifetime;
  if (bound === undefined || (type === 'access' && session === undefined)) return exp;
  const end = (session?.startedAt ?? now) + bound;
  return exp === undefined ? end : Math.min(exp, end);
}

/** When the family of a refresh token started: its `fst` claim, else (a token from before 0.3) its own `iat`. */
export function sessionStartOf(payload: TokenPayload): number {
  const start = payload[SESSION_START_CLAIM];
  if (typeof start === 'number' && Number.isFinite(start)) return start;
  return typeof payload.iat === 'number' ? payload.iat : Math.floor(Date.now() / 1000);
}

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

/** Seconds instances' clocks may differ (`revocation.clockMarginSeconds`): revocation state outlives its tokens by it. */
export function clockMargin(config: JwtConfig): number {
  return config.revocation?.clockMarginSeconds ?? 0;
}

/**
 * Seconds session state written now (a cut-off, a family) must be kept: the longest token
 * lifetime, plus the clock margin (an instance whose clock is behind still sees it until its
 * own clock says the last such token expired); `undefined` = for ever.
 */
export function keepSeconds(config: JwtConfig): number | undefined {
  const lifetime = longestLifetime(config);
  return lifetime === undefined ? undefined : lifetime + clockMargin(config);
}

/** Unix seconds until which session state written now must be kept; `undefined` = for ever. */
export function keepUntil(config: JwtConfig): number | undefined {
  const seconds = keepSeconds(config);
  return seconds === undefined ? undefined : Math.ceil(Date.now() / 1000) + seconds;
}

/**
 * Unix seconds until which a rotation's family state must be kept: it outlives every token the
 * configuration makes from now and each of `tokens` (the presented token, the new pair, also made
 * with a longer `expiresIn`): the latest `exp` + leeway + clock margin; `undefined` = for ever
 * (also for a token without a finite `exp`).
 *
 * @example keepUntilCovering(config, [presented, access.payload, refresh.payload])
 */
export function keepUntilCovering(config: JwtConfig, tokens: readonly TokenPayload[]): number | undefined {
  let until = keepUntil(config);
  for (const token of tokens) {
    if (until === undefined) return undefined;
    const exp = token.exp;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
    until = Math.max(until, Math.ceil(exp) + config.leeway + clockMargin(config));
  }
  return until;
}

/**
 * Unix seconds until which a family revoked on the reuse of `presented` must be kept: past
 * `presented` and every token made with it (its `iat` + the longest configured lifetime), each
 * + leeway + clock margin; tokens made later are covered by the family's rotations. Not extended
 * from now; `undefined` = for ever.
 *
 * @example keepUntilOutliving(config, payload)
 */
export function keepUntilOutliving(config: JwtConfig, presented: TokenPayload): number | undefined {
  const lifetime = longestLifetime(config);
  const { exp, iat } = presented;
  if (lifetime === undefined || typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  const issued = typeof iat === 'number' && Number.isFinite(iat) ? iat : Math.ceil(Date.now() / 1000);
  return Math.ceil(Math.max(exp + config.leeway, issued + lifetime)) + clockMargin(config);
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
  if (!revocation.storeHas.inspect) {
    const known = peekRecord(store, jti);
    const judge = (record: StoredToken | undefined): undefined => {
      if (isRecordRevoked(record, revocation)) throw new RevokedTokenError(payload);
      return undefined;
    };
    if (known !== undefined) return judge(known);
    return callStore('find', () => store.find(jti), unavailable, isRecordAnswer, revocation.storeTimeoutMs).then(judge);
  }
  const query: TokenQuery = { jti, identity: String(payload[config.identityClaim]), family: familyOf(payload, revocation) };
  if (typeof payload.iat === 'number') query.issuedAt = payload.iat;
  const state = peekTokenState(store, query); // the hot path: no closure, no promise
  if (state !== undefined) return judgeState(state, query, config, revocation, payload);
  return callStore('inspect', () => store.inspect!(query), unavailable, (answer) => isTokenStateAnswer(answer, query), revocation.storeTimeoutMs)
    .then((found) => judgeState(found, query, config, revocation, payload));
}


function judgeState(state: TokenState, query: TokenQuery, config: JwtConfig, revocation: RevocationConfig, payload: TokenPayload): Promise<void> | undefined {
  const generation = typeof payload[CUTOFF_CLAIM] === 'number' ? (payload[CUTOFF_CLAIM] as number) : 0;
  if (isRecordRevoked(state.record, revocation) || state.cutoff > generation || state.family?.revoked) {
    throw new RevokedTokenError(payload);
  }
  const usedAt = state.family?.usedAt;
  if (!revocation.refreshRotation || payload.type !== 'refresh' || usedAt === undefined) return undefined;
  // an honest retry (a lost answer, another tab): passes, but yields only the pair already handed out
  if (isInsideReuseInterval(revocation, usedAt)) return undefined;
  return reuseDetected(config, revocation, query.family!, payload);
}

function isInsideReuseInterval(revocation: RevocationConfig, usedAt: number): boolean {
  const intervalMs = revocation.reuseIntervalSeconds * 1000;
  return intervalMs > 0 && Date.now() - usedAt <= intervalMs;
}

/** A used refresh token presented again: the family is revoked (confirmed by the tiered store), then the refusal. */
async function reuseDetected(config: JwtConfig, revocation: RevocationConfig, family: string, payload: TokenPayload): Promise<never> {
  publishRefreshReuse(payload, family);
  await revokeFamily(config, revocation.store, family, payload);
  throw new RevokedTokenError(payload);
}

/**
 * Whether the refresh token was rotated already (inside the reuse interval it still passes the
 * guard, for `rotateRefreshToken()` to answer its pair). From the store's memory when it can
 * answer at once; `false` with rotation off.
 *
 * @example if (await isRefreshTokenUsed(config, payload)) await refuseAsReuse(config, payload)
 */
export async function isRefreshTokenUsed(config: JwtConfig, payload: TokenPayload): Promise<boolean> {
  const revocation = config.revocation;
  if (!revocation?.refreshRotation || payload.type !== 'refresh' || !revocation.storeHas.inspect) return false;
  const query: TokenQuery = { jti: payload.jti as string, identity: String(payload[config.identityClaim]), family: familyOf(payload, revocation) };
  const store = revocation.store;
  const state = peekTokenState(store, query) ?? (await callStore('inspect', () => store.inspect!(query), unavailable, (answer) => isTokenStateAnswer(answer, query), revocation.storeTimeoutMs));
  return state.family!.usedAt !== undefined; // checked: a query naming a family gets a family state
}

/**
 * A used refresh token used for anything but getting its successor pair: reuse. The family is
 * revoked (confirmed by the tiered store), then this rejects with `RevokedTokenError`.
 *
 * @example await refuseAsReuse(config, payload)
 */
export function refuseAsReuse(config: JwtConfig, payload: TokenPayload): Promise<never> {
  const revocation = config.revocation!;
  return reuseDetected(config, revocation, familyOf(payload, revocation)!, payload);
}

/**
 * Before minting in a request a refresh token authenticated, without a refresh scope (the doors
 * use refresh-scope.ts): a used one is reuse, the family revoked, `RevokedTokenError`. A no-op
 * for an unused token, or with rotation off.
 *
 * @example await refuseUsedRefreshToken(config, payload)
 */
export async function refuseUsedRefreshToken(config: JwtConfig, payload: TokenPayload): Promise<void> {
  if (await isRefreshTokenUsed(config, payload)) await refuseAsReuse(config, payload);
}

/**
 * Reuse detected: the whole family goes, kept revoked as long as any of its tokens can live (the
 * token presented and those made with it, and every `until` its rotations gave it).
 */
export async function revokeFamily(config: JwtConfig, store: TokenStore, family: string, presented: TokenPayload): Promise<void> {
  const until = keepUntilOutliving(config, presented);
  await callStore('revokeFamily', () => store.revokeFamily!(family, until), unavailable, undefined, config.revocation!.storeTimeoutMs);
  publishRevocation({ kind: 'family', family });
}
