/**
 * CSRF double submit: a token read from a cookie carries a `csrf` claim, and a
 * state-changing request must echo it in a header. Compared in constant time,
 * whatever the lengths or encodings of the two values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CsrfError, InvalidTokenError } from './errors';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';

/**
 * Whether a new token carries a `csrf` claim: CSRF protection is on and the token
 * may travel in a cookie: `requested` (the `csrf` option of token creation) or,
 * by default, cookies in `tokenLocation`. Decided by configuration and the call
 * alone, so which controllers happen to be loaded never changes a token.
 *
 * @example if (needsCsrfClaim(config, options.csrf)) payload.csrf = randomUUID()
 */
export function needsCsrfClaim(config: JwtConfig, requested: boolean | undefined): boolean {
  return config.cookieCsrfProtect && (requested ?? config.tokenLocation.includes('cookies'));
}

/**
 * Whether a cookie token must come with its CSRF header on a request (or a call
 * checked as one) with HTTP method `method`: CSRF protection is on and `method` is one
 * of `csrfMethods`. The one CSRF rule of every door.
 *
 * @example if (csrfRequired(config, ctx.method)) checkCsrf(payload, ctx.get(config.accessCsrfHeaderName))
 */
export function csrfRequired(config: JwtConfig, method: string): boolean {
  return config.cookieCsrfProtect && config.csrfMethodSet.has(method);
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
