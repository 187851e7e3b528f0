/**
 * Remote keys from a JWK Set URL (`jwksUri`). Caching, the cooldown on refetches for an
 * unknown `kid`, one in-flight fetch shared by concurrent callers and the timeout are
 * jose's `createRemoteJWKSet`. What it lacks is added through its `customFetch` hook:
 * the failure backoff (no fetch, and an immediate 503, while waiting) and the bounds on
 * a set's size (1 MiB, 1 000 keys). This module maps jose's answers onto ours (422 for a
 * token no key fits, 503 when the set cannot be had) and says which fetch of the set a key
 * came from, so a verified-token cache never outlives a key that left the set.
 */
import { KeyObject } from 'node:crypto';
import { InvalidTokenError, JwtError } from './errors';
import { shownKid, UsableKeySet, usableKeys } from './key-set-members';
import { Algorithm, algNotAllowed, isHmac, keyFitsAlgorithm, VerificationKey } from './keys';
import { FetchBackoff, fetchJson, jwksTiming, REMOTE_LIMITS, RemoteFetchError } from './remote-fetch';
import { rootCauseMessage } from './root-cause';
import { noteUnusableKey, noteUnusableKeys } from './store-health';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });
type RemoteJwks = ReturnType<Jose['createRemoteJWKSet']>;

export { jwksTiming } from './remote-fetch';

/**
 * The JWK Set at `jwksUri` could not be fetched or read (unreachable, timeout, not 200,
 * not a JWK Set): fail closed, 503 `Key set unavailable`. Answered by `storeUnavailableLoader`
 * (the loader of every 503); the fetch error is the `cause`.
 *
 * @example if (error instanceof KeySetUnavailableError) log.warn('identity provider unreachable', error.cause)
 */
export class KeySetUnavailableError extends JwtError {
  constructor(cause?: unknown) {
    super('storeUnavailable', 'ERR_JWT_KEY_SET_UNAVAILABLE', 503, 'Key set unavailable', { cause });
  }
}

/** A key taken from the remote set, with the fetch it came from. */
export interface RemoteKey {
  key: VerificationKey;
  /** The JWK Set document of that fetch: a new fetch gives a new one. */
  generation: object;
}

const unknownKid = (cause?: unknown) => new InvalidTokenError('Unknown key id (kid)', 'ERR_JWT_UNKNOWN_KID', cause);

/** jose's errors about the token rather than the set: no key fits it, several do, its `alg` has no key type. */
const TOKEN_CODES = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);

/**
 * What a failed key lookup answers. Only a failure to have the set (`isFetchFailure`: an
 * error our fetch threw, or jose's timeout around it) is an outage (503). jose's other
 * answers are about this token: no key fits (422 Unknown key id), several do (422), its
 * `alg` has no key type (422 alg not allowed); any other error is the one member jose
 * picked failing to import: unusable, so answered as a kid no key has.
 *
 * @example throw keyLookupRefusal(error, failures.has(error))
 */
export function keyLookupRefusal(error: unknown, isFetchFailure: boolean): JwtError {
  const code = (error as { code?: unknown } | null)?.code;
  if (isFetchFailure || code === 'ERR_JWKS_TIMEOUT') return new KeySetUnavailableError(error);
  if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
    return new InvalidTokenError('Several keys match this token: it needs a key id (kid)', 'ERR_JWT_AMBIGUOUS_KID', error);
  }
  if (code === 'ERR_JOSE_NOT_SUPPORTED') return new InvalidTokenError('The specified alg value is not allowed', 'ERR_JWT_ALG_NOT_ALLOWED', error);
  return unknownKid(error);
}

/** A parsed answer that is a JWK Set within the bounds, its members sorted (or why it is no such set). */
function readKeySet(value: unknown): UsableKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (typeof value !== 'object' || value === null || !Array.isArray(keys)) throw new RemoteFetchError('the answer is not a JWK Set');
  if (keys.length > REMOTE_LIMITS.maxKeys) throw new RemoteFetchError(`the JWK Set holds ${keys.length} keys, more than ${REMOTE_LIMITS.maxKeys}`);
  if (!keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) throw new RemoteFetchError('the JWK Set holds a member that is no JWK');
  return usableKeys(keys as Record<string, unknown>[]);
}

/** How the set is fetched: `cacheMaxAgeMs` (`jwksCacheMaxAge`) and `cooldownMs` (`jwksCooldown`). */
export interface RemoteKeySetTiming {
  cacheMaxAgeMs: number;
  cooldownMs: number;
}

export class RemoteKeySet {
  private remote: Promise<RemoteJwks> | undefined;
  /** jose writes each fetched set here (`jwks`) with its time (`uat`). */
  private readonly fetched: { uat?: number; jwks?: object } = {};
  private readonly backoff: FetchBackoff;
  private readonly cacheMaxAgeMs: number;
  /** Every error our fetch threw: what jose passes on of these is an outage, nothing else is. */
  private readonly fetchFailures = new WeakSet<object>();
  /** The kids whose member failed to import, per fetched set (each reported once). */
  private readonly importFailures = new WeakMap<object, Set<string>>();

  constructor(readonly uri: URL, private readonly timing: RemoteKeySetTiming) {
    this.cacheMaxAgeMs = timing.cacheMaxAgeMs;
    this.backoff = new FetchBackoff(timing.cooldownMs);
  }

  /**
   * Whether a token verified with a key of fetch `generation` may be served from cache:
   * that fetch is still the last one and still within `jwksCacheMaxAge`.
   */
  isCurrent(generation: object | undefined): boolean {
    const { uat, jwks } = this.fetched;
    return generation !== undefined && generation === jwks && uat !== undefined && Date.now() < uat + this.cacheMaxAgeMs;
  }

  /**
   * The key for a token's header: fetched (or refetched once per cooldown on an
   * unknown `kid`), checked to fit `algorithm`.
   *
   * @example const { key } = await keySet.keyFor({ alg: 'RS256', kid: 'k1' }, 'RS256')
   */
  async keyFor(header: Record<string, unknown>, algorithm: Algorithm): Promise<RemoteKey> {
    const { kid } = header;
    if (kid !== undefined && typeof kid !== 'string') throw unknownKid();
    if (isHmac(algorithm)) throw algNotAllowed(); // no JWK Set publishes an HMAC secret: nothing to fetch
    const remote = await this.load();
    let found: Awaited<ReturnType<RemoteJwks>>;
    try {
      found = await remote({ alg: algorithm, kid });
    } catch (error) {
      const refusal = keyLookupRefusal(error, typeof error === 'object' && error !== null && this.fetchFailures.has(error));
      if (refusal instanceof InvalidTokenError && !TOKEN_CODES.has((error as { code?: string } | null)?.code as string)) this.noteImportFailure(kid, error);
      throw refusal;
    }
    const key = found instanceof Uint8Array ? undefined : KeyObject.from(found);
    if (!key || !keyFitsAlgorithm(key, algorithm)) throw algNotAllowed();
    // the set the key came from (a second fetch finishing between jose's answer and here would need two fetches in one call)
    return { key: { kid, algorithm, key }, generation: this.fetched.jwks! };
  }

  /**
   * jose's fetch, through the backoff and the bounds: while waiting after a failure nothing
   * goes out and jose's caller is refused at once; a set that is too large or no JWK Set is
   * a failure like a 500 (jose would otherwise refetch it on the next request).
   */
  private readonly fetchSet = async (url: string, init: Parameters<typeof fetchJson>[1]) => {
    const waiting = this.backoff.waiting();
    if (waiting !== undefined) throw this.fetchFailure(waiting);
    let usable: UsableKeySet;
    try {
      usable = await fetchJson(url, init, readKeySet);
    } catch (error) {
      this.backoff.failed(error);
      throw this.fetchFailure(error);
    }
    this.backoff.succeeded();
    noteUnusableKeys(url, usable.unusable);
    // jose sees the usable members only, as bounded plain copies
    const json = { keys: usable.keys };
    return { status: 200, json: async () => json } as unknown as Response; // jose reads only these two
  };

  /** Remembers `error` as one of the fetch's (an outage, whatever jose wraps it in). */
  private fetchFailure(error: unknown): unknown {
    if (typeof error === 'object' && error !== null) this.fetchFailures.add(error);
    return error;
  }

  /** A member jose picked did not import: reported once per fetched set and kid. */
  private noteImportFailure(kid: string | undefined, error: unknown): void {
    const generation = this.fetched.jwks;
    if (generation === undefined) return;
    let reported = this.importFailures.get(generation);
    if (reported === undefined) this.importFailures.set(generation, (reported = new Set()));
    if (reported.has(kid ?? '')) return;
    reported.add(kid ?? '');
    noteUnusableKey(this.uri.href, { kid: kid === undefined ? undefined : shownKid(kid), reason: `it does not import (${rootCauseMessage(error)})` });
  }

  /** jose 6 is ESM only: imported on first use (a CommonJS build cannot require it on every Node 20). */
  private load(): Promise<RemoteJwks> {
    this.remote ??= import('jose').then((jose) =>
      jose.createRemoteJWKSet(this.uri, {
        cacheMaxAge: this.cacheMaxAgeMs,
        cooldownDuration: this.timing.cooldownMs,
        timeoutDuration: jwksTiming.timeoutMs,
        [jose.customFetch]: this.fetchSet,
        [jose.jwksCache]: this.fetched as Record<string, never>, // starts empty; jose writes each fetch into it
      }),
    );
    return this.remote;
  }
}
