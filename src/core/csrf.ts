/**
 * CSRF double submit: a token read from a cookie carries a `csrf` claim, and a
 * state-changing request must echo it in a header. Compared in constant time,
 * whatever the lengths or encodings of the two values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CsrfError, InvalidTokenError } from './errors';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';

/** Set once any route reads its token from cookies through its own `locations`. */
let cookieRouteDeclared = false;

/** Records that a route may read its token from a cookie (so new tokens carry the `csrf` claim it checks). */
export function noteCookieRoute(): void {
  cookieRouteDeclared = true;
}

/**
 * Whether new tokens carry a `csrf` claim: CSRF protection is on and cookies are a
 * location, in `tokenLocation` or in some route's `@JwtRequired({ locations })`.
 *
 * @example if (needsCsrfClaim(config)) payload.csrf = randomUUID()
 */
export function needsCsrfClaim(config: JwtConfig): boolean {
  return config.cookieCsrfProtect && (cookieRouteDeclared || config.tokenLocation.includes('cookies'));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Checks the header value against the token's `csrf` claim.
 *
 * @example checkCsrf(payload, ctx.get('X-CSRF-TOKEN'))
 */
export function checkCsrf(payload: TokenPayload, headerValue: string | undefined): void {
  if (headerValue === undefined || headerValue === '') throw new CsrfError('Missing CSRF token');
  if (typeof payload.csrf !== 'string') throw new InvalidTokenError('Missing claim: csrf', 'ERR_JWT_CLAIM_INVALID');
  if (!safeEqual(payload.csrf, headerValue)) throw new CsrfError('CSRF double submit tokens do not match');
}
