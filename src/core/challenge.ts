/**
 * The one rule for values the library writes into a response header. `WWW-Authenticate`
 * (RFC 6750 §3) is built only here: its quoted parameters hold only the characters the
 * RFC allows, and its `error_description` is a fixed text per kind of refusal, so no
 * identity, claim or message a loader made can reach a header (Node refuses a header
 * with a non-Latin-1 character or CR/LF with an exception: a 500 where a 401 was due).
 */
import type { JwtError, JwtErrorKind } from './errors';

/** RFC 6750 §3's `%x20-21 / %x23-5B / %x5D-7E`: printable ASCII without `"` and `\`. */
const NOT_QUOTABLE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
/** A header value past this is truncated: a description, not a document. */
const MAX_PARAMETER_LENGTH = 200;

/**
 * `value` as the body of a quoted header parameter: every character outside RFC 6750 §3's
 * set (non-ASCII, controls, CR/LF, `"`, `\`) dropped, at most 200 characters.
 *
 * @example quotedParameter('Token "x" has expired\r\n') // 'Token x has expired'
 */
export function quotedParameter(value: string): string {
  return value.replace(NOT_QUOTABLE, '').slice(0, MAX_PARAMETER_LENGTH);
}

/** What a challenge says of each kind of refusal: fixed texts, never the error's own message. */
const DESCRIPTION: Record<JwtErrorKind, string> = {
  unauthorized: 'Authorization required',
  invalid: 'Invalid token',
  expired: 'Token has expired',
  needsFresh: 'Fresh token required',
  revoked: 'Token has been revoked',
  storeUnavailable: 'Token revocation store unavailable',
  forbidden: 'Insufficient permissions',
  userLookup: 'Error loading the user',
  verificationFailed: 'User claims verification failed',
};

/**
 * An auth challenge: `scheme` followed by its parameters, each quoted by `quotedParameter`.
 *
 * @example authChallenge('Bearer', { error: 'invalid_token' }) // 'Bearer error="invalid_token"'
 */
export function authChallenge(scheme: string, parameters: Record<string, string> = {}): string {
  const quoted = Object.entries(parameters).map(([name, value]) => `${name}="${quotedParameter(value)}"`);
  return quoted.length === 0 ? scheme : `${scheme} ${quoted.join(', ')}`;
}

/**
 * The RFC 6750 challenge for a token refused in the Authorization header.
 *
 * @example invalidTokenChallenge('Bearer', new ExpiredTokenError(payload))
 * // 'Bearer error="invalid_token", error_description="Token has expired"'
 */
export function invalidTokenChallenge(scheme: string, error: JwtError): string {
  return authChallenge(scheme, { error: 'invalid_token', error_description: DESCRIPTION[error.kind] ?? DESCRIPTION.invalid });
}

/**
 * RFC 6750 §3.1's challenge for a token that lacks a scope (the 403 of a route's `scopes`).
 * The guard only accepts scope tokens of RFC 6749 §3.3's characters, so none is dropped here.
 *
 * @example insufficientScopeChallenge('Bearer', ['api:write']) // 'Bearer error="insufficient_scope", scope="api:write"'
 */
export function insufficientScopeChallenge(scheme: string, scopes: readonly string[]): string {
  return authChallenge(scheme, { error: 'insufficient_scope', scope: scopes.join(' ') });
}
