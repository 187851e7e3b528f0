/**
 * Keys are built once, at `configure()`, as `KeyObject`s: a string secret handed
 * to a JWT library on every call is re-derived every time (measured ~40x slower).
 * A key ring holds the signing key and every key a token may be verified with,
 * indexed by `kid` (rotation: old public keys stay until their tokens expire).
 */
import { secretVerdict } from './secrets';
import { createHash, createPrivateKey, createPublicKey, createSecretKey, JsonWebKey, KeyObject } from 'node:crypto';
import { showAs } from './safe-view';
import { InvalidTokenError } from './errors';
import { checkJwkRestrictions, checkKeyFits, checkKeyStrength, isJwkObject } from './key-checks';

export { EC_CURVES } from './key-checks';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
] as const;
export const SUPPORTED_ALGORITHMS: readonly string[] = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS];

/**
 * A signing algorithm: HS256/384/512, RS256/384/512, PS256/384/512 or ES256/384/512.
 */
export type Algorithm = (typeof HMAC_ALGORITHMS)[number] | (typeof ASYMMETRIC_ALGORITHMS)[number];

/**
 * A PEM string, a Buffer holding PEM (or raw secret bytes), a ready `KeyObject`, or (for
 * RS/PS/ES/EdDSA keys) a JWK object such as `{ kty: 'OKP', crv: 'Ed25519', x }`.
 */
export type KeyInput = string | Buffer | KeyObject | JsonWebKey;

/** An extra key a token may be verified with (rotation). */
export interface VerificationKeyOptions {
  kid: string;
  /** Defaults to the configured `algorithm`. */
  algorithm?: Algorithm;
  /** For HS* algorithms. */
  secret?: KeyInput;
  /** For RS/PS/ES algorithms. */
  publicKey?: KeyInput;
}

export interface VerificationKey {
  kid: string | undefined;
  algorithm: Algorithm;
  key: KeyObject;
}

export interface KeyRing {
  /** The key tokens are signed with; `key` is undefined for a verify-only (public key) set-up. */
  signing: { algorithm: Algorithm; kid: string | undefined; key: KeyObject | undefined };
  /** The key for tokens that carry no `kid`; undefined when tokens are verified with remote or loaded keys only. */
  current: VerificationKey | undefined;
  byKid: ReadonlyMap<string, VerificationKey>;
  /** Every algorithm some key of the ring verifies: the allow-list. */
  algorithms: ReadonlySet<string>;
}

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const MIN_SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

export function isHmac(algorithm: unknown): boolean {
  return typeof algorithm === 'string' && algorithm.startsWith('HS');
}

/** A public or private key in any form (PEM, DER, JWK, base64 or hex of one) must never become an HMAC secret. */
function isKeyInDisguise(bytes: Buffer, label: string, problems: string[]): boolean {
  const verdict = secretVerdict(bytes);
  if (verdict === undefined) return false;
  problems.push('key' in verdict
    ? `${label}: a ${verdict.key} key is never accepted as an HMAC secret (algorithm confusion)`
    : `${label} cannot be checked for a key in disguise (${verdict.unchecked}): an HMAC secret is random bytes (crypto.randomBytes(32) or more)`);
  return true;
}

/** Builds an HMAC secret key for `algorithm`, or returns why it cannot. */
function secretKey(input: unknown, algorithm: string, label: string, problems: string[]): KeyObject | undefined {
  const minimum = MIN_SECRET_BYTES[algorithm];
  const tooShort = (bytes: number) => `${label} must be at least ${minimum} bytes for ${algorithm}, the length of its hash (got ${bytes})`;
  if (input instanceof KeyObject) {
    if (input.type !== 'secret') {
      problems.push(`${label}: an asymmetric key is never accepted as an HMAC secret`);
      return undefined;
    }
    if (isKeyInDisguise(input.export(), label, problems)) return undefined;
    if (input.symmetricKeySize! < minimum) problems.push(tooShort(input.symmetricKeySize!));
    return input;
  }
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    problems.push(`${label} is required for ${algorithm} (a string or Buffer of at least ${minimum} bytes)`);
    return undefined;
  }
  const bytes = Buffer.from(input);
  if (isKeyInDisguise(bytes, label, problems)) return undefined;
  if (bytes.length < minimum) {
    problems.push(tooShort(bytes.length));
    return undefined;
  }
  return createSecretKey(bytes);
}

/** Whether a key input holds a private key (so it must never be given as a public key). */
function holdsPrivateKey(input: unknown): boolean {
  if (input instanceof KeyObject) return input.type === 'private';
  if (isJwkObject(input)) return input.d !== undefined;
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return false;
  try {
    createPrivateKey(input);
    return true;
  } catch {
    return false;
  }
}

function asymmetricKey(input: unknown, kind: 'private' | 'public', label: string, problems: string[]): KeyObject | undefined {
  try {
    if (input instanceof KeyObject) {
      if (input.type === 'secret') throw new Error('a secret key was given');
      if (kind === 'public') return input.type === 'public' ? input : createPublicKey(input);
      if (input.type !== 'private') throw new Error('a public key was given where a private key is needed');
      return input;
    }
    if (isJwkObject(input)) {
      if (input.kty === 'oct') throw new Error('a symmetric JWK (kty oct) was given');
      return kind === 'private' ? createPrivateKey({ key: input, format: 'jwk' }) : createPublicKey({ key: input, format: 'jwk' });
    }
    if (typeof input !== 'string' && !Buffer.isBuffer(input)) throw new Error('expected a PEM string, Buffer, KeyObject or JWK object');
    return kind === 'private' ? createPrivateKey(input) : createPublicKey(input);
  } catch (error) {
    problems.push(`${label} is not a usable ${kind} key: ${(error as Error).message}`);
    return undefined;
  }
}

/** RFC 7638 JWK thumbprint: a stable default `kid` for an asymmetric key. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  // the required members in lexicographic order (RFC 7638 §3.2; OKP from RFC 8037 §2)
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export interface KeyOptions {
  algorithm: Algorithm;
  secret?: unknown;
  privateKey?: unknown;
  publicKey?: unknown;
  kid?: string;
  verificationKeys?: VerificationKeyOptions[];
}

/** `label: text`, or just `text` for the top-level options (label ''). */
function scoped(label: string, text: string): string {
  return label === '' ? text : `${label}: ${text}`;
}

/** `label.name`, or just `name` for the top-level options. */
function member(label: string, name: string): string {
  return label === '' ? name : `${label}.${name}`;
}

/** Builds one verification key of the ring (the current one or a rotated-out one, or a key from `decodeKeyLoader`). */
export function buildVerificationKey(
  options: { algorithm: Algorithm; secret?: unknown; publicKey?: unknown; privateKey?: unknown },
  label: string,
  problems: string[],
): KeyObject | undefined {
  const { algorithm } = options;
  if (isHmac(algorithm)) {
    if (options.publicKey !== undefined) problems.push(scoped(label, `publicKey is for RS/PS/ES/EdDSA algorithms, not ${algorithm}`));
    if (options.privateKey !== undefined) problems.push(scoped(label, `privateKey is for RS/PS/ES/EdDSA algorithms, not ${algorithm}`));
    try {
      return secretKey(options.secret, algorithm, member(label, 'secret'), problems);
    } catch (error) {
      // a value that throws when read (a Proxy of a Buffer, a revoked Proxy): a problem, never an uncaught error
      problems.push(`${member(label, 'secret')} could not be read as a string or Buffer (${error instanceof Error ? error.name : typeof error})`);
      return undefined;
    }
  }
  if (options.secret !== undefined) {
    problems.push(scoped(label, `a secret is never used for the asymmetric algorithm ${algorithm}; give privateKey/publicKey`));
  }
  if (options.publicKey !== undefined && holdsPrivateKey(options.publicKey)) {
    // it would verify, but a private key travels wherever verifying configuration goes
    problems.push(`${member(label, 'publicKey')} holds a private key: give the public key only (the private key signs, as privateKey)`);
    return undefined;
  }
  const source = options.publicKey ?? options.privateKey;
  if (source === undefined) {
    problems.push(scoped(label, `${algorithm} needs a privateKey (to sign) and/or a publicKey (to verify)`));
    return undefined;
  }
  const before = problems.length;
  if (options.publicKey !== undefined) checkJwkRestrictions(options.publicKey, algorithm, 'verify', member(label, 'publicKey'), problems);
  const key = asymmetricKey(source, 'public', member(label, 'publicKey'), problems);
  // a key derived from the privateKey was checked already
  if (key && options.publicKey !== undefined) checkKeyFits(key, algorithm, member(label, 'publicKey'), problems);
  if (key && problems.length === before) checkKeyStrength(key, member(label, options.publicKey !== undefined ? 'publicKey' : 'privateKey'), problems);
  return key;
}

/**
 * Builds the key ring, pushing every problem found into `problems`.
 *
 * @example buildKeyRing({ algorithm: 'HS256', secret: process.env.JWT_SECRET }, problems)
 */
export function buildKeyRing(options: KeyOptions, problems: string[]): KeyRing | undefined {
  const { algorithm } = options;
  const before = problems.length;
  let signingKey: KeyObject | undefined;
  if (!isHmac(algorithm) && options.privateKey !== undefined) {
    checkJwkRestrictions(options.privateKey, algorithm, 'sign', 'privateKey', problems);
    signingKey = asymmetricKey(options.privateKey, 'private', 'privateKey', problems);
    if (signingKey) checkKeyFits(signingKey, algorithm, 'privateKey', problems);
  }
  const privateKey = isHmac(algorithm) ? options.privateKey : signingKey;
  const currentKey = buildVerificationKey({ ...options, privateKey }, '', problems);
  if (isHmac(algorithm)) signingKey = currentKey;
  if (signingKey && currentKey && !isHmac(algorithm) && options.publicKey !== undefined) {
    const derived = createPublicKey(signingKey).export({ format: 'jwk' });
    if (JSON.stringify(derived) !== JSON.stringify(currentKey.export({ format: 'jwk' }))) {
      problems.push('publicKey does not match privateKey');
    }
  }
  const kid = options.kid ?? (currentKey && !isHmac(algorithm) && problems.length === before ? jwkThumbprint(currentKey) : undefined);
  const byKid = new Map<string, VerificationKey>();
  const current: VerificationKey = { kid, algorithm, key: currentKey! };
  if (kid !== undefined) byKid.set(kid, current);
  const extras = options.verificationKeys ?? [];
  if (!Array.isArray(extras)) problems.push('verificationKeys must be a list of { kid, algorithm?, secret | publicKey }');
  for (const [index, extra] of (Array.isArray(extras) ? extras : []).entries()) {
    const label = `verificationKeys[${index}]`;
    if (typeof extra?.kid !== 'string' || extra.kid === '') { problems.push(`${label}.kid must be a non-empty string`); continue; }
    if (byKid.has(extra.kid)) { problems.push(`${label}.kid '${extra.kid}' is used twice`); continue; }
    const extraAlgorithm = extra.algorithm ?? algorithm;
    if (!SUPPORTED_ALGORITHMS.includes(extraAlgorithm)) { problems.push(`${label}.algorithm '${extraAlgorithm}' is not supported`); continue; }
    const key = buildVerificationKey({ algorithm: extraAlgorithm, secret: extra.secret, publicKey: extra.publicKey }, label, problems);
    if (key) byKid.set(extra.kid, { kid: extra.kid, algorithm: extraAlgorithm, key });
  }
  if (problems.length > before) return undefined;
  const algorithms = new Set<string>([algorithm, ...[...byKid.values()].map((k) => k.algorithm)]);
  return showAs({ signing: { algorithm, kid, key: signingKey }, current, byKid, algorithms }, 'KeyRing', describeKeyRing);
}

/**
 * The key ring as `inspect()` and `JSON.stringify` show it: algorithms and kids, never a key.
 *
 * @example describeKeyRing(manager.config.keys) // { algorithm: 'RS256', kid: 'a', canSign: true, ... }
 */
export function describeKeyRing(ring: KeyRing): Record<string, unknown> {
  return {
    algorithm: ring.signing.algorithm,
    kid: ring.signing.kid,
    canSign: ring.signing.key !== undefined,
    verificationKids: [...ring.byKid.keys()],
    algorithms: [...ring.algorithms],
  };
}

/** The refusal of a token whose `alg` is off the allow-list or does not fit its key (RFC 8725 §3.1). */
export function algNotAllowed(): InvalidTokenError {
  return new InvalidTokenError('The specified alg value is not allowed', 'ERR_JWT_ALG_NOT_ALLOWED');
}

/** Whether an asymmetric key fits `algorithm` (type, RSA size, EC curve): a key from a JWK Set must, too. */
export function keyFitsAlgorithm(key: KeyObject, algorithm: string): boolean {
  if (isHmac(algorithm) || key.type !== 'public') return false;
  const problems: string[] = [];
  checkKeyFits(key, algorithm, 'key', problems);
  return problems.length === 0;
}

/**
 * The ring of a set-up that verifies with keys from `jwksUri` or `decodeKeyLoader`
 * and holds no key of its own: nothing to sign with, only the allow-list.
 */
export function keyRingWithoutLocalKeys(algorithm: Algorithm): KeyRing {
  return { signing: { algorithm, kid: undefined, key: undefined }, current: undefined, byKid: new Map(), algorithms: new Set([algorithm]) };
}

/** The public keys of the ring as a JWK Set (HMAC secrets are never exported). */
export function publicJwks(ring: KeyRing): { keys: Record<string, unknown>[] } {
  const keys: Record<string, unknown>[] = [];
  const seen = new Set<VerificationKey>();
  for (const entry of [ring.current, ...ring.byKid.values()]) {
    if (entry === undefined || seen.has(entry) || isHmac(entry.algorithm)) continue;
    seen.add(entry);
    const jwk = entry.key.export({ format: 'jwk' }) as Record<string, unknown>;
    keys.push({ ...jwk, kid: entry.kid ?? jwkThumbprint(entry.key), alg: entry.algorithm, use: 'sig' });
  }
  return { keys };
}
