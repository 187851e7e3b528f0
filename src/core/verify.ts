/**
 * The one verification pipeline. Decorators, `decodeToken` and the testing kit
 * all come through here. Order: parse → header (alg allow-list, crit, kid) →
 * signature → payload → static claims → time claims; then, for a route: type →
 * freshness → revocation. The store is never asked about a token that failed before.
 */
import { LRUCache } from 'lru-cache';
import { checkStaticClaims, checkTimeClaims, nowSeconds, TokenType } from './claims';
import { checkCsrf } from './csrf';
import { FreshTokenRequiredError, InvalidTokenError } from './errors';
import { decodeJsonSegment, isSignatureValid, parseCompactToken } from './jws';
import type { VerificationKey } from './keys';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';
import { checkSession, isCheckedType } from './sessions';

/** What a route demands of its token. */
export interface Requirement {
  type: TokenType;
  fresh: boolean;
}

export const ACCESS: Requirement = Object.freeze({ type: 'access', fresh: false });
export const FRESH_ACCESS: Requirement = Object.freeze({ type: 'access', fresh: true });
export const REFRESH: Requirement = Object.freeze({ type: 'refresh', fresh: false });

function notAllowed(): InvalidTokenError {
  return new InvalidTokenError('The specified alg value is not allowed', 'ERR_JWT_ALG_NOT_ALLOWED');
}

/** Picks the verification key for a decoded header, refusing what RFC 8725 says to refuse. */
function selectKey(header: Record<string, unknown>, config: JwtConfig): VerificationKey {
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !config.keys.algorithms.has(alg)) throw notAllowed();
  if (header.crit !== undefined) {
    throw new InvalidTokenError('Unsupported critical header parameters (crit)', 'ERR_JWT_CRIT');
  }
  // jku, x5u, jwk and x5c are never fetched or trusted: only the configured keys count
  let key = config.keys.current;
  if (kid !== undefined) {
    const found = typeof kid === 'string' ? config.keys.byKid.get(kid) : undefined;
    if (!found) throw new InvalidTokenError('Unknown key id (kid)', 'ERR_JWT_UNKNOWN_KID');
    key = found;
  }
  if (key.algorithm !== alg) throw notAllowed();
  return key;
}

/** Freezes `value` and everything in it; iterative, so no nesting depth can overflow the stack. */
function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== 'object' || item === null || Object.isFrozen(item)) continue;
    Object.freeze(item);
    for (const child of Object.values(item)) pending.push(child);
  }
  return value;
}

export class TokenVerifier {
  /** Verified payloads by whole token string; hits still re-run the time checks. */
  private readonly verified: LRUCache<string, TokenPayload> | undefined;

  constructor(private readonly config: JwtConfig) {
    const max = config.verifiedTokenCacheSize;
    this.verified = max > 0 ? new LRUCache<string, TokenPayload>({ max }) : undefined;
  }

  /**
   * Full verification without the store: signature, claims and times.
   * Returns the payload, deep-frozen (it may be shared by later requests).
   *
   * @example const payload = verifier.verify(token)
   */
  verify(token: unknown, options: { allowExpired?: boolean } = {}): TokenPayload {
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('Token must be a non-empty string', 'ERR_JWT_MALFORMED');
    const now = nowSeconds();
    let payload = this.verified?.get(token);
    if (payload === undefined) {
      payload = this.verifyUncached(token);
      this.verified?.set(token, payload);
    }
    checkTimeClaims(payload, this.config.leeway, now, options.allowExpired === true);
    return payload;
  }

  private verifyUncached(token: string): TokenPayload {
    const parsed = parseCompactToken(token, this.config.maxTokenLength);
    const key = selectKey(parsed.header, this.config);
    if (!isSignatureValid(key.algorithm, key.key, parsed.signingInput, parsed.signature)) {
      throw new InvalidTokenError('Signature verification failed', 'ERR_JWT_SIGNATURE');
    }
    const payload = decodeJsonSegment(parsed.payloadSegment, 'payload');
    checkStaticClaims(payload, this.config);
    return deepFreeze(payload);
  }

  /**
   * What a protected route runs: verification, CSRF (for cookie tokens), then type, freshness and revocation.
   *
   * @example const payload = await verifier.authorize(token, FRESH_ACCESS)
   */
  async authorize(token: unknown, requirement: Requirement, options: { csrfValue?: string } = {}): Promise<TokenPayload> {
    return this.authorizeNow(token, requirement, options);
  }

  /**
   * `authorize()` for the request hot path: answers without a promise when no store
   * round trip is needed (no check, or the store's memory tier knows the token).
   * Throws, or returns a rejecting promise, exactly where `authorize()` rejects.
   */
  authorizeNow(token: unknown, requirement: Requirement, options: { csrfValue?: string } = {}): TokenPayload | Promise<TokenPayload> {
    const payload = this.verify(token);
    if (options.csrfValue !== undefined) checkCsrf(payload, options.csrfValue);
    checkRequirement(payload, requirement);
    const pending = this.revocationCheck(payload);
    return pending === undefined ? payload : pending.then(() => payload);
  }

  /**
   * Refuses a revoked token (by its record as the mode reads it, its identity's cut-off, its
   * family, refresh-token reuse); 503 when the store fails. `undefined` when answered at once
   * (or not checked); else the pending store lookup. The rules live in sessions.ts.
   */
  private revocationCheck(payload: TokenPayload): Promise<void> | undefined {
    const revocation = this.config.revocation;
    return isCheckedType(revocation, payload.type) ? checkSession(this.config, revocation, payload) : undefined;
  }
}

/** The type and freshness rules of a route (pure: no I/O). */
export function checkRequirement(payload: TokenPayload, requirement: Requirement): void {
  if (requirement.type === 'refresh') {
    if (payload.type !== 'refresh') throw new InvalidTokenError('Only refresh tokens are allowed', 'ERR_JWT_WRONG_TYPE');
    return;
  }
  if (payload.type !== 'access') throw new InvalidTokenError('Only non-refresh tokens are allowed', 'ERR_JWT_WRONG_TYPE');
  if (requirement.fresh && payload.fresh !== true) throw new FreshTokenRequiredError(payload);
}
