/**
 * Claims-set rules (RFC 8725 strictness), each in one place: the static checks
 * that hold for a token forever, and the time checks that must be re-run on
 * every use (so a cached verification can never outlive `exp`).
 */
import { ExpiredTokenError, InvalidTokenError } from './errors';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';
import { CUTOFF_CLAIM, FAMILY_CLAIM, SESSION_START_CLAIM } from './sessions';

export type TokenType = 'access' | 'refresh';

/** Claims the library writes itself: a custom claim may not overwrite them. */
export function reservedClaims(config: JwtConfig): ReadonlySet<string> {
  const sessions = config.revocation ? [FAMILY_CLAIM, CUTOFF_CLAIM, SESSION_START_CLAIM] : []; // issue 13
  return new Set([config.identityClaim, 'sub', 'type', 'fresh', 'jti', 'iat', 'nbf', 'exp', 'aud', 'iss', 'csrf', 'cnf', '__proto__', ...sessions]);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function invalid(message: string): InvalidTokenError {
  return new InvalidTokenError(message, 'ERR_JWT_CLAIM_INVALID');
}

/**
 * The kind of a verified token: its `type`, or `'access'` for a token without one
 * (only reaches a route when `acceptUntypedTokens` let it through, as fje 4 reads it).
 */
export function tokenTypeOf(payload: TokenPayload): TokenType {
  return payload.type === 'refresh' ? 'refresh' : 'access';
}

/**
 * Whether an access token is fresh at `now` (seconds): `fresh: true`, or a NumericDate
 * `fresh` (timed freshness, fje 4's `fresh=timedelta(...)`) that has not passed yet.
 */
export function isFreshAt(payload: TokenPayload, now: number): boolean {
  const fresh = payload.fresh;
  return fresh === true || (typeof fresh === 'number' && now <= fresh);
}

function requireString(payload: Record<string, unknown>, claim: string): void {
  const value = payload[claim];
  if (value === undefined) throw invalid(`Missing claim: ${claim}`);
  if (typeof value !== 'string' || value === '') throw invalid(`Invalid claim: ${claim} must be a non-empty string`);
}

function optionalNumericDate(payload: Record<string, unknown>, claim: 'exp' | 'nbf' | 'iat'): void {
  const value = payload[claim];
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
    throw invalid(`Invalid claim: ${claim} must be a number`);
  }
}

// The aud/iss/sub refusals keep fje 4's texts (PyJWT's), so clients written against it read the same.
function checkAudience(payload: Record<string, unknown>, accepted: readonly string[]): void {
  const aud = payload.aud;
  if (aud === undefined) throw invalid('Token is missing the "aud" claim');
  const given = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud : undefined;
  if (!given) throw invalid('Invalid claim format in token');
  // exact string equality only: no prefix, substring or pattern match
  if (!given.some((a) => accepted.includes(a))) throw invalid("Audience doesn't match");
}

function checkIssuer(payload: Record<string, unknown>, issuer: string): void {
  if (payload.iss === undefined) throw invalid('Token is missing the "iss" claim');
  if (payload.iss !== issuer) throw invalid('Invalid issuer');
}

/** The identity claim: a non-empty string, or with `verifySub: false` any value but null (fje 4.7's JWT_VERIFY_SUB). */
function checkIdentity(payload: Record<string, unknown>, config: JwtConfig): void {
  const value = payload[config.identityClaim];
  if (value === undefined || (!config.verifySub && value === null)) throw invalid(`Missing claim: ${config.identityClaim}`);
  if (!config.verifySub) return;
  if (typeof value !== 'string') throw invalid('Subject must be a string');
  if (value === '') throw invalid(`Invalid claim: ${config.identityClaim} must be a non-empty string`);
}

/**
 * `type` exactly 'access' or 'refresh'; with `acceptUntypedTokens`, no `type` at all is an
 * access token. Tokens we write always carry `jti`; an untyped one may lack it (the
 * revocation check refuses it where the route's checks cover access tokens).
 */
function checkTypeAndJti(payload: Record<string, unknown>, config: JwtConfig): void {
  const untyped = payload.type === undefined;
  if (untyped && !config.acceptUntypedTokens) throw invalid('Missing claim: type');
  if (!untyped && payload.type !== 'access' && payload.type !== 'refresh') throw invalid("Invalid claim: type must be 'access' or 'refresh'");
  if (!untyped || payload.jti !== undefined) requireString(payload, 'jti');
}

/** `fresh` is a boolean, or a NumericDate until which the token counts as fresh. */
function checkFresh(payload: Record<string, unknown>): void {
  const fresh = payload.fresh;
  if (fresh !== undefined && typeof fresh !== 'boolean' && (typeof fresh !== 'number' || !Number.isFinite(fresh))) {
    throw invalid('Invalid claim: fresh must be a boolean or a NumericDate');
  }
}

/**
 * The value at a claim path: `['roles']` is the top-level `roles`, `['realm_access', 'roles']`
 * Keycloak's nested list. Only own properties of plain objects are followed.
 *
 * @example claimAt(payload, ['realm_access', 'roles']) // ['admin']
 */
export function claimAt(payload: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = payload;
  for (const name of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/** The scopes a token grants: `scope` (space-delimited, RFC 9068 / RFC 8693) or else `scp` (a list, or Entra's string). */
function grantedScopes(payload: Record<string, unknown>): unknown[] {
  const claim = payload.scope !== undefined ? payload.scope : payload.scp;
  if (typeof claim === 'string') return claim.split(' ');
  return Array.isArray(claim) ? claim : [];
}

/**
 * Whether a token grants every one of `required` (exact, case-sensitive match, RFC 6749 §3.3).
 *
 * @example grantsAllScopes({ scope: 'api:read api:write' }, ['api:write']) // true
 */
export function grantsAllScopes(payload: Record<string, unknown>, required: readonly string[]): boolean {
  const granted = grantedScopes(payload);
  return required.every((scope) => granted.includes(scope));
}

/** Checks that hold for the token's whole life: presence and types of claims, iss, aud. */
export function checkStaticClaims(
  payload: Record<string, unknown>,
  config: JwtConfig,
  policy: { issuer: string | undefined; audience: readonly string[] | undefined } = config,
): asserts payload is TokenPayload {
  checkIdentity(payload, config);
  checkTypeAndJti(payload, config);
  // exp is required unless this kind of token never expires here (an untyped token is an access token)
  const neverExpires = (tokenTypeOf(payload as TokenPayload) === 'access' ? config.accessTokenExpires : config.refreshTokenExpires) === false;
  if (payload.exp === undefined && !neverExpires) throw invalid('Missing claim: exp');
  optionalNumericDate(payload, 'exp');
  optionalNumericDate(payload, 'nbf');
  optionalNumericDate(payload, 'iat');
  checkFresh(payload);
  if (payload.csrf !== undefined && typeof payload.csrf !== 'string') throw invalid('Invalid claim: csrf must be a string');
  if (policy.issuer !== undefined) checkIssuer(payload, policy.issuer);
  if (policy.audience !== undefined) checkAudience(payload, policy.audience);
}

/**
 * fje 4's defaults for a token without `type` (accepted only with `acceptUntypedTokens`):
 * `type: 'access'` and, when absent, `fresh: false`, so `decodeToken()`, `getJwtClaims()` and
 * `@Claims()` read such a token as fje's `decode_token()` and `get_jwt()` do. `jti` stays absent.
 */
export function withUntypedDefaults(payload: TokenPayload): TokenPayload {
  if (payload.type !== undefined) return payload;
  return { ...payload, type: 'access', fresh: payload.fresh ?? false };
}

/** Checks against the clock, re-run on every use: `nbf`/`iat` not in the future, `exp` not past. */
export function checkTimeClaims(payload: TokenPayload, leeway: number, now: number, allowExpired: boolean): void {
  const { nbf, iat, exp } = payload as { nbf?: number; iat?: number; exp?: number };
  if ((nbf !== undefined && nbf > now + leeway) || (iat !== undefined && iat > now + leeway)) {
    throw new InvalidTokenError('Token not yet valid', 'ERR_JWT_NOT_YET_VALID');
  }
  if (!allowExpired && exp !== undefined && now >= exp + leeway) throw new ExpiredTokenError(payload);
}
