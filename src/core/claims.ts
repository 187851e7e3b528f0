/**
 * Claims-set rules (RFC 8725 strictness), each in one place: the static checks
 * that hold for a token forever, and the time checks that must be re-run on
 * every use (so a cached verification can never outlive `exp`).
 */
import { ExpiredTokenError, InvalidTokenError } from './errors';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';

export type TokenType = 'access' | 'refresh';

/** Claims the library writes itself: a custom claim may not overwrite them. */
export function reservedClaims(config: JwtConfig): ReadonlySet<string> {
  return new Set([config.identityClaim, 'sub', 'type', 'fresh', 'jti', 'iat', 'nbf', 'exp', 'aud', 'iss', 'csrf', '__proto__']);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function invalid(message: string): InvalidTokenError {
  return new InvalidTokenError(message, 'ERR_JWT_CLAIM_INVALID');
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

function checkAudience(payload: Record<string, unknown>, accepted: readonly string[]): void {
  const aud = payload.aud;
  const given = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud : undefined;
  // exact string equality only: no prefix, substring or pattern match
  if (!given || !given.some((a) => accepted.includes(a))) throw invalid('Invalid audience');
}

/** Checks that hold for the token's whole life: presence and types of claims, iss, aud. */
export function checkStaticClaims(payload: Record<string, unknown>, config: JwtConfig): asserts payload is TokenPayload {
  requireString(payload, config.identityClaim);
  if (payload.type === undefined) throw invalid('Missing claim: type');
  if (payload.type !== 'access' && payload.type !== 'refresh') throw invalid("Invalid claim: type must be 'access' or 'refresh'");
  requireString(payload, 'jti');
  const neverExpires = (payload.type === 'access' ? config.accessTokenExpires : config.refreshTokenExpires) === false;
  if (payload.exp === undefined && !neverExpires) throw invalid('Missing claim: exp');
  optionalNumericDate(payload, 'exp');
  optionalNumericDate(payload, 'nbf');
  optionalNumericDate(payload, 'iat');
  if (payload.fresh !== undefined && typeof payload.fresh !== 'boolean') throw invalid('Invalid claim: fresh must be a boolean');
  if (payload.csrf !== undefined && typeof payload.csrf !== 'string') throw invalid('Invalid claim: csrf must be a string');
  if (config.issuer !== undefined && payload.iss !== config.issuer) throw invalid('Invalid issuer');
  if (config.audience !== undefined) checkAudience(payload, config.audience);
}

/** Checks against the clock, re-run on every use: `nbf`/`iat` not in the future, `exp` not past. */
export function checkTimeClaims(payload: TokenPayload, leeway: number, now: number, allowExpired: boolean): void {
  const { nbf, iat, exp } = payload as { nbf?: number; iat?: number; exp?: number };
  if ((nbf !== undefined && nbf > now + leeway) || (iat !== undefined && iat > now + leeway)) {
    throw new InvalidTokenError('Token not yet valid', 'ERR_JWT_NOT_YET_VALID');
  }
  if (!allowExpired && exp !== undefined && now >= exp + leeway) throw new ExpiredTokenError(payload);
}
