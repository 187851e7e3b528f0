/**
 * The one verification pipeline. Decorators, `decodeToken` and the testing kit
 * all come through here. Order: parse → header (alg allow-list, crit, kid) →
 * signature → payload → static claims → time claims; then, for a route: type →
 * freshness → revocation. The store is never asked about a token that failed before.
 */
import { BoundedMap } from './bounded-map';
import { LruMap } from './lru-map';
import { checkStaticClaims, checkTimeClaims, isFreshAt, nowSeconds, tokenTypeOf, TokenType, withUntypedDefaults } from './claims';
import { checkCsrf } from './csrf';
import { FreshTokenRequiredError, InvalidTokenError, JwtUsageError } from './errors';
import { decodeJsonSegment, deepFreeze, isSignatureValid, parseCompactToken, ParsedToken, signatureVerificationFailed } from './jws';
import { typeKey } from './idp-options';
import { policiesFor, policyOfIssuer, VerificationPolicy } from './issuer-policy';
import type { KeySource } from './key-source';
import { Algorithm, algNotAllowed, VerificationKey } from './keys';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';
import { checkSession, isCheckedType } from './sessions';

/** What a route demands of its token; `type: 'any'` is `verifyType: false` (access and refresh alike). */
export interface Requirement {
  type: TokenType | 'any';
  fresh: boolean;
}

/** What `authorizeNow()` is told besides the requirement. */
export interface AuthorizeOptions {
  /** For a cookie token on a CSRF-protected method: the header value to match. */
  csrfValue?: string;
  /** Skips the store (a logout that revokes a maybe-revoked token). */
  skipRevocationCheck?: boolean;
}

/** The verified JOSE header of each verified payload (both are cached together). */
const HEADERS = new WeakMap<TokenPayload, Record<string, unknown>>();

/** The JOSE header of a payload returned by the verifier. @example headerOf(payload).kid */
export function headerOf(payload: TokenPayload): Record<string, unknown> {
  return HEADERS.get(payload) ?? {};
}

export const ACCESS: Requirement = Object.freeze({ type: 'access', fresh: false });
export const FRESH_ACCESS: Requirement = Object.freeze({ type: 'access', fresh: true });
export const REFRESH: Requirement = Object.freeze({ type: 'refresh', fresh: false });

/**
 * Refuses a header RFC 8725 says to refuse (alg off the allow-list, any `crit`, a `typ` not
 * accepted when `typ` is configured, §3.11); answers the algorithm, now on the allow-list.
 */
function checkHeader(header: Record<string, unknown>, policy: VerificationPolicy): Algorithm {
  const { alg } = header;
  if (typeof alg !== 'string' || !policy.algorithms.has(alg)) throw algNotAllowed();
  if (header.crit !== undefined) {
    throw new InvalidTokenError('Unsupported critical header parameters (crit)', 'ERR_JWT_CRIT');
  }
  if (policy.typ !== undefined && (typeof header.typ !== 'string' || !policy.typ.has(typeKey(header.typ)))) {
    throw new InvalidTokenError('Invalid token type (typ)', 'ERR_JWT_TYP');
  }
  return alg as Algorithm;
}


/** A verified payload, and the key set fetch its key came from (remote keys). */
interface Verified {
  payload: TokenPayload;
  generation?: object;
  /** The key source of its issuer, when `issuers` lists several (else the verifier's own). */
  source?: KeySource;
}

/** A cache entry: the verified token, whole, beside what its verification found. */
interface CachedToken {
  token: string;
  verified: Verified;
}

/** Distinct header segments kept parsed: an issuer's tokens carry one per key (kid) and type. */
const HEADER_CACHE_SIZE = 64;

/** How many characters at the end of a token (its signature, in a well-formed one) make its cache key. */
const KEY_CHARACTERS = 12;

/**
 * The cache key of a token: a 30-bit hash of its last characters, which are signature
 * characters in any well-formed token. A small integer is the cheapest Map key there is: a
 * string key (the whole token, or its signature segment sliced out) cost V8 a fresh hash of
 * that string on every request, the dearest step of a cache hit. The entry keeps the whole
 * token and a hit must equal it, so two tokens that share a key (a forged token reusing
 * another's signature, or a rare collision) are a miss and verified in full.
 */
function cacheKey(token: string): number {
  let hash = 0;
  for (let index = Math.max(0, token.length - KEY_CHARACTERS); index < token.length; index++) {
    hash = (Math.imul(hash, 31) + token.charCodeAt(index)) | 0;
  }
  return hash & 0x3fffffff;
}

export class TokenVerifier {
  /** Verified payloads by cache key, each with its whole token; hits still re-run the time checks. */
  /** #private: the cache holds live tokens, which not even inspect(verifier, { showHidden: true }) may print. */
  readonly #verified: LruMap<CachedToken, number> | undefined;
  /** The few distinct JOSE headers of the tokens seen, parsed and frozen once (by header segment). */
  readonly #headers = new BoundedMap<Record<string, unknown>>(HEADER_CACHE_SIZE);
  /** The entry {@link holdsVerified} found last, for the `verifyNow()` of the same token that follows it. */
  #held: CachedToken | undefined;
  private readonly keys: KeySource;
  private readonly policy: VerificationPolicy;
  private readonly byIssuer: ReadonlyMap<string, VerificationPolicy> | undefined;

  constructor(private readonly config: JwtConfig) {
    const max = config.verifiedTokenCacheSize;
    this.#verified = max > 0 ? new LruMap<CachedToken, number>(max) : undefined;
    const { main, byIssuer } = policiesFor(config);
    this.policy = main;
    this.keys = main.keys;
    this.byIssuer = byIssuer;
  }

  /**
   * Full verification without the store: signature, claims and times. The payload is
   * deep-frozen (it may be shared by later requests). Answers at once with local keys
   * (and for a cached token); a promise when the key is remote or loaded.
   *
   * @example const payload = await verifier.verifyNow(token)
   */
  verifyNow(token: unknown, options: { allowExpired?: boolean } = {}): TokenPayload | Promise<TokenPayload> {
    const held = this.#held;
    if (held !== undefined) this.#held = undefined; // used up by this call, whatever it answers
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('Token must be a non-empty string', 'ERR_JWT_MALFORMED');
    const cached = held !== undefined && held.token === token ? held : this.#verified?.get(cacheKey(token));
    // a token verified with a remote key is served from cache only while that key set fetch is current
    if (cached !== undefined && cached.token === token && (cached.verified.source ?? this.keys).isCurrent(cached.verified.generation)) {
      return this.checkTimes(cached.verified.payload, options);
    }
    const verified = this.verifyUncached(token);
    if (verified instanceof Promise) return verified.then((settled) => this.remember(token, settled, options));
    return this.remember(token, verified, options);
  }

  /**
   * Whether this verifier holds `token` verified (the guard's header hot path asks, before the
   * `verifyNow()` that follows). Such a token is three base64url segments and two dots, no white
   * space and no comma: `decodeSegment` refuses a segment with any character the decoder skips (the
   * decoded length falls short), so a token that verified never had one, and the header needs no
   * scan for them. The entry found is kept for that `verifyNow()` (one lookup, not two); it is no
   * shortcut past anything: `verifyNow()` still checks the key set fetch it came from and the times.
   *
   * @example verifier.holdsVerified(token) // true once the token verified and while cached
   */
  holdsVerified(token: string): boolean {
    if (typeof token !== 'string') return false;
    const cached = this.#verified?.get(cacheKey(token));
    if (cached === undefined || cached.token !== token) return false;
    this.#held = cached;
    return true;
  }

  /**
   * `verifyNow()` for callers that cannot wait: with remote or loaded keys a token not
   * already verified needs a promise, so this refuses with a `JwtUsageError` (use `decodeToken()`).
   *
   * @example const payload = verifier.verify(token)
   */
  verify(token: unknown, options: { allowExpired?: boolean } = {}): TokenPayload {
    const payload = this.verifyNow(token, options);
    if (!(payload instanceof Promise)) return payload;
    payload.catch(() => undefined); // the caller gets the usage error; the verification is dropped
    throw new JwtUsageError('this token is verified with remote or loaded keys, which takes a promise: use decodeToken()');
  }

  private remember(token: string, verified: Verified, options: { allowExpired?: boolean }): TokenPayload {
    if ((verified.source ?? this.keys).isCurrent(verified.generation)) this.#verified?.set(cacheKey(token), { token, verified });
    return this.checkTimes(verified.payload, options);
  }

  private checkTimes(payload: TokenPayload, options: { allowExpired?: boolean }): TokenPayload {
    checkTimeClaims(payload, this.config.leeway, nowSeconds(), options.allowExpired === true);
    return payload;
  }

  private verifyUncached(token: string): Verified | Promise<Verified> {
    const parsed = parseCompactToken(token, this.config.maxTokenLength, this.#headers);
    // with several issuers, the token's iss picks the rules (and keys) before any key is looked up
    const policy = this.byIssuer === undefined ? this.policy : policyOfIssuer(parsed, this.byIssuer);
    const algorithm = checkHeader(parsed.header, policy);
    const key = policy.keys.keyFor(parsed, algorithm);
    if (key instanceof Promise) return key.then((chosen) => this.checkSigned(parsed, chosen.key, chosen.generation, policy));
    return this.checkSigned(parsed, key, undefined, policy);
  }

  private checkSigned(parsed: ParsedToken, key: VerificationKey, generation: object | undefined, policy: VerificationPolicy): Verified {
    if (!isSignatureValid(key.algorithm, key.key, parsed.signingInput, parsed.signature)) {
      throw signatureVerificationFailed();
    }
    const decoded = decodeJsonSegment(parsed.payloadSegment, 'payload');
    checkStaticClaims(decoded, this.config, policy);
    const payload = withUntypedDefaults(decoded);
    HEADERS.set(payload, deepFreeze(parsed.header));
    const verified: Verified = { payload: deepFreeze(payload), generation };
    if (policy.keys !== this.keys) verified.source = policy.keys;
    return verified;
  }

  /**
   * What a protected route runs: verification, CSRF (for cookie tokens), then type, freshness and revocation.
   *
   * @example const payload = await verifier.authorize(token, FRESH_ACCESS)
   */
  async authorize(token: unknown, requirement: Requirement, options: AuthorizeOptions = {}): Promise<TokenPayload> {
    return this.authorizeNow(token, requirement, options);
  }

  /**
   * `authorize()` for the request hot path: answers without a promise when no store
   * round trip is needed (no check, or the store's memory tier knows the token).
   * Throws, or returns a rejecting promise, exactly where `authorize()` rejects.
   */
  authorizeNow(token: unknown, requirement: Requirement, options: AuthorizeOptions = {}): TokenPayload | Promise<TokenPayload> {
    const verified = this.verifyNow(token);
    if (verified instanceof Promise) return verified.then((payload) => this.authorizeVerified(payload, requirement, options));
    return this.authorizeVerified(verified, requirement, options);
  }

  private authorizeVerified(payload: TokenPayload, requirement: Requirement, options: AuthorizeOptions): TokenPayload | Promise<TokenPayload> {
    if (options.csrfValue !== undefined) checkCsrf(payload, options.csrfValue);
    checkRequirement(payload, requirement);
    if (options.skipRevocationCheck === true) return payload;
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
    if (!isCheckedType(revocation, tokenTypeOf(payload))) return undefined;
    // only an untyped token (acceptUntypedTokens) can lack a jti: the store cannot vouch for it
    if (payload.jti === undefined) throw new InvalidTokenError('Missing claim: jti', 'ERR_JWT_CLAIM_INVALID');
    return checkSession(this.config, revocation, payload);
  }
}

/** The type and freshness rules of a route (pure: no I/O). */
export function checkRequirement(payload: TokenPayload, requirement: Requirement): void {
  if (requirement.type === 'any') {
    if (requirement.fresh && !isFreshAt(payload, Date.now() / 1000)) throw new FreshTokenRequiredError(payload);
    return;
  }
  const type = tokenTypeOf(payload);
  if (requirement.type === 'refresh') {
    if (type !== 'refresh') throw new InvalidTokenError('Only refresh tokens are allowed', 'ERR_JWT_WRONG_TYPE');
    return;
  }
  if (type !== 'access') throw new InvalidTokenError('Only non-refresh tokens are allowed', 'ERR_JWT_WRONG_TYPE');
  if (requirement.fresh && !isFreshAt(payload, Date.now() / 1000)) throw new FreshTokenRequiredError(payload);
}
