/**
 * Where the key for a token comes from: the configured key ring (sync, the hot path),
 * a remote JWK Set (`jwksUri`), or the app's `decodeKeyLoader` (per-tenant keys).
 * Every source is handed a header whose `alg` already passed the allow-list, and
 * answers a key that fits that algorithm, or refuses the token.
 */
import { createHash, KeyObject } from 'node:crypto';
import { BoundedMap } from './bounded-map';
import { InvalidTokenError } from './errors';
import { decodeJsonSegment, ParsedToken } from './jws';
import { RemoteKeySet, RemoteKeySetTiming } from './jwks';
import { Algorithm, algNotAllowed, buildVerificationKey, isHmac, KeyInput, KeyRing, VerificationKey } from './keys';
import type { JwtConfig } from './options';

/** The app's key lookup (fje's `decode_key_loader`): the unverified header and payload in, the key out. */
export type DecodeKeyLoader = (
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
) => KeyInput | null | undefined | Promise<KeyInput | null | undefined>;

/** A key, and what a cached verification made with it depends on (see `KeySource.isCurrent`). */
export interface ChosenKey {
  key: VerificationKey;
  generation?: object;
}

export interface KeySource {
  /** The key for a parsed token: at once for local keys, a promise for remote or loaded ones. */
  keyFor(parsed: ParsedToken, algorithm: Algorithm): VerificationKey | Promise<ChosenKey>;
  /** Whether a verification made with a key of `generation` may still be served from the cache. */
  isCurrent(generation: object | undefined): boolean;
}

/** The configured ring: `kid` picks a key (an unknown one is refused), no `kid` the current key. */
class LocalKeySource implements KeySource {
  constructor(private readonly ring: KeyRing) {}

  keyFor(parsed: ParsedToken, algorithm: Algorithm): VerificationKey {
    const { kid } = parsed.header;
    // jku, x5u, jwk and x5c are never fetched or trusted: only the configured keys count
    let key = this.ring.current;
    if (kid !== undefined) {
      key = typeof kid === 'string' ? this.ring.byKid.get(kid) : undefined;
      if (!key) throw new InvalidTokenError('Unknown key id (kid)', 'ERR_JWT_UNKNOWN_KID');
    }
    if (!key || key.algorithm !== algorithm) throw algNotAllowed();
    return key;
  }

  isCurrent(): boolean {
    return true;
  }
}

/** Keys from a JWK Set URL. */
export class RemoteKeySource implements KeySource {
  private readonly keySet: RemoteKeySet;

  constructor(uri: URL, timing: RemoteKeySetTiming) {
    this.keySet = new RemoteKeySet(uri, timing);
  }

  keyFor(parsed: ParsedToken, algorithm: Algorithm): Promise<ChosenKey> {
    return this.keySet.keyFor(parsed.header, algorithm);
  }

  isCurrent(generation: object | undefined): boolean {
    return this.keySet.isCurrent(generation);
  }
}

/** How many distinct loader answers keep their parsed key (per-tenant keys: far fewer in practice). */
const LOADED_KEYS_MAX = 256;

/**
 * The app decides per token: the loader is asked every time, so a key it stops returning stops
 * verifying at once. What it answers is parsed once per distinct value (PEM, JWK, DER,
 * secret, refusals too), not per request: parsing a PEM costs more than verifying with it.
 */
class LoaderKeySource implements KeySource {
  // #private: not even inspect(x, { showHidden: true }) shows the keys a loader handed out
  readonly #byValue = new BoundedMap<KeyObject | null>(LOADED_KEYS_MAX);
  readonly #byKeyObject = new WeakMap<KeyObject, Map<string, KeyObject | null>>();

  constructor(private readonly load: DecodeKeyLoader) {}

  async keyFor(parsed: ParsedToken, algorithm: Algorithm): Promise<ChosenKey> {
    // the loader reads the tenant (iss, a custom claim) before the signature is checked: hand it copies
    const header = Object.freeze({ ...parsed.header });
    const payload = Object.freeze(decodeJsonSegment(parsed.payloadSegment, 'payload'));
    const input = await this.load(header, payload);
    if (input === undefined || input === null) throw new InvalidTokenError('No verification key for this token', 'ERR_JWT_NO_KEY');
    const key = this.parsed(input, algorithm);
    if (!key) throw algNotAllowed();
    return { key: { kid: undefined, algorithm, key } };
  }

  isCurrent(): boolean {
    return false;
  }

  /** The loader's answer as a key for `algorithm` (`null`: refused), built once per distinct value. */
  private parsed(input: KeyInput, algorithm: Algorithm): KeyObject | null {
    if (input instanceof KeyObject) {
      let perAlgorithm = this.#byKeyObject.get(input);
      if (!perAlgorithm) this.#byKeyObject.set(input, (perAlgorithm = new Map()));
      if (!perAlgorithm.has(algorithm)) perAlgorithm.set(algorithm, buildLoadedKey(input, algorithm));
      return perAlgorithm.get(algorithm)!;
    }
    const id = valueId(input, algorithm);
    if (id === undefined) return buildLoadedKey(input, algorithm);
    const cached = this.#byValue.get(id);
    if (cached !== undefined) return cached;
    const key = buildLoadedKey(input, algorithm);
    this.#byValue.set(id, key);
    return key;
  }
}

/** A cache key for a loader's answer: a digest of its algorithm, kind and content (never the secret itself). */
function valueId(input: unknown, algorithm: string): string | undefined {
  const digest = (kind: string, content: string | Buffer) => createHash('sha256').update(`${algorithm}\0${kind}\0`).update(content).digest('base64url');
  if (typeof input === 'string') return digest('s', input);
  if (Buffer.isBuffer(input)) return digest('b', input);
  if (typeof input === 'object' && input !== null) {
    try {
      return digest('j', JSON.stringify(input));
    } catch {
      return undefined; // not JSON (a cycle, a BigInt): built without the cache, and refused
    }
  }
  return undefined;
}

/** One loaded key, checked as `configure()` checks keys: an HMAC secret that is a key in disguise is refused. */
function buildLoadedKey(input: unknown, algorithm: Algorithm): KeyObject | null {
  const problems: string[] = [];
  const fields = isHmac(algorithm) ? { algorithm, secret: input } : { algorithm, publicKey: input };
  const key = buildVerificationKey(fields, 'decodeKeyLoader', problems);
  return key && problems.length === 0 ? key : null;
}

/** The timing of every remote key set of a configuration, in milliseconds. */
export function remoteTiming(config: JwtConfig): RemoteKeySetTiming {
  return { cacheMaxAgeMs: config.jwksTiming.cacheMaxAgeSeconds * 1000, cooldownMs: config.jwksTiming.cooldownSeconds * 1000 };
}

/**
 * The key source a configuration verifies with.
 *
 * @example const source = keySourceFor(config); const key = await source.keyFor(parsed, 'RS256')
 */
export function keySourceFor(config: JwtConfig): KeySource {
  if (config.jwks) return new RemoteKeySource(config.jwks.uri, remoteTiming(config));
  if (config.decodeKeyLoader) return new LoaderKeySource(config.decodeKeyLoader);
  return new LocalKeySource(config.keys);
}
