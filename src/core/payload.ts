/**
 * The payload of a token, typed: the claims the library writes and checks, and
 * the application's own claims (from `claims` or the `userClaimsLoader`) beside them.
 */

/** The claims the library writes (and the verification pipeline checks) on every token. */
export interface StandardClaims {
  /** The identity under the default `identityClaim` (`'sub'`); another `identityClaim` leaves it absent. */
  sub?: string;
  /** Access or refresh: never interchangeable. Always present on a verified token. */
  type: 'access' | 'refresh';
  /** Access tokens: `true` right after a password login; a number is a Unix time the token stays fresh until. */
  fresh?: boolean | number;
  /** The token's unique id (a UUID), what `revokeToken()` takes. Always present on a verified token. */
  jti: string;
  /** Issued at, Unix seconds. */
  iat?: number;
  /** Not before, Unix seconds. */
  nbf?: number;
  /** Expires at, Unix seconds; absent only when that token kind is configured never to expire. */
  exp?: number;
  /** The CSRF double-submit value of a token meant for cookies. */
  csrf?: string;
  /** The configured `audience` (one string, or a list). */
  aud?: string | string[];
  /** The configured `issuer`. */
  iss?: string;
}

/**
 * A verified token's payload: the standard claims, typed, and your custom claims `C`
 * at the top level. With the default `C`, any other claim reads as `unknown`.
 *
 * @example
 * interface MyClaims { roles: string[] }
 * const claims: JwtPayload<MyClaims> = getJwtClaims<MyClaims>();
 * await revokeToken(claims.jti); // jti: string
 */
export type JwtPayload<C extends object = Record<string, unknown>> = StandardClaims & C;

/**
 * The payload without its `csrf` claim (the same object when it has none; a frozen payload
 * stays frozen). The double-submit value is needed only by the check of the request that
 * carries it, so what outlives that check (a store's record, an error's `payload`) never
 * holds it: no log line of a record or an error shows it (DESIGN 0.3 G).
 *
 * @example store.add({ jti, identity, expiresAt, record: { token: withoutCsrf(payload), revoked: false } })
 */
export function withoutCsrf<P extends object>(payload: P): P {
  if (!Object.prototype.hasOwnProperty.call(payload, 'csrf')) return payload;
  const copy: Record<string, unknown> = {};
  for (const [claim, value] of Object.entries(payload)) if (claim !== 'csrf') copy[claim] = value;
  return (Object.isFrozen(payload) ? Object.freeze(copy) : copy) as P;
}
