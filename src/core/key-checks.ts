/**
 * The checks a key meets before it is used, wherever it comes from (`configure()`, a
 * `decodeKeyLoader` answer): it fits its algorithm (type, RSA size, curve), it is no weak
 * key that verifies forgeries, and a JWK's own `alg`, `use` and `key_ops` allow the use.
 * Each pushes a problem, never throws, so `configure()` lists every one at once.
 */
import { JsonWebKey, KeyObject } from 'node:crypto';
import { weakKeyProblem } from './key-strength';

export const MIN_RSA_BITS = 2048;
/** The curve of each ES* algorithm (also what the CLI generates). */
export const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** A JWK given as an object (`kty` present): node:crypto reads it with `format: 'jwk'`. */
export function isJwkObject(input: unknown): input is JsonWebKey {
  return typeof input === 'object' && input !== null && !Buffer.isBuffer(input) && !(input instanceof KeyObject)
    && typeof (input as { kty?: unknown }).kty === 'string';
}

/** Checks an asymmetric key fits the algorithm: key type, RSA size, EC curve, Ed25519 for EdDSA. */
export function checkKeyFits(key: KeyObject, algorithm: string, label: string, problems: string[]): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm === 'EdDSA') {
    // RFC 8037 allows Ed448 too; we verify Ed25519 only (one signature length, one curve to test)
    if (type !== 'ed25519') problems.push(`${label} must be an Ed25519 key for EdDSA (got ${type})`);
    return;
  }
  if (algorithm.startsWith('ES')) {
    if (type !== 'ec' || details.namedCurve !== EC_CURVES[algorithm]) {
      problems.push(`${label} must be an EC key on curve ${EC_CURVES[algorithm]} for ${algorithm} (got ${type}${details.namedCurve ? ' ' + details.namedCurve : ''})`);
    }
    return;
  }
  // plain 'rsa' only: an 'rsa-pss' key has no JWK form (the JWK Set and kid thumbprint need one)
  if (type !== 'rsa') {
    problems.push(`${label} must be an RSA key for ${algorithm} (got ${type})`);
  } else if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
    problems.push(`${label} must be an RSA key of at least ${MIN_RSA_BITS} bits (got ${details.modulusLength})`);
  }
}

/**
 * A JWK's own restrictions (RFC 7517 §4.2-4.4) are honoured outside a key set as jose honours
 * them inside one: its `alg` must be the algorithm it is given for, its `use` 'sig', its
 * `key_ops` must hold the operation (`verify` for a public key, `sign` for a private one).
 */
export function checkJwkRestrictions(input: unknown, algorithm: string, operation: 'verify' | 'sign', label: string, problems: string[]): void {
  if (!isJwkObject(input)) return;
  const { alg, use, key_ops: keyOps } = input as { alg?: unknown; use?: unknown; key_ops?: unknown };
  const shown = (value: unknown) => (typeof value === 'string' ? `'${value.slice(0, 32)}'` : typeof value);
  if (alg !== undefined && alg !== algorithm) problems.push(`${label} is a JWK for alg ${shown(alg)}, not ${algorithm}`);
  if (use !== undefined && use !== 'sig') problems.push(`${label} is a JWK for use ${shown(use)}, not 'sig' (signatures)`);
  if (keyOps !== undefined && (!Array.isArray(keyOps) || !keyOps.includes(operation))) problems.push(`${label} is a JWK whose key_ops do not include '${operation}'`);
}

/** Refuses a public key that verifies forged signatures (RSA e = 1, an Ed25519 point of small order...): read once, at parse time. */
export function checkKeyStrength(key: KeyObject, label: string, problems: string[]): void {
  let jwk: JsonWebKey;
  try {
    jwk = key.export({ format: 'jwk' });
  } catch {
    return; // a key with no JWK form (rsa-pss) is refused by the fit check
  }
  const problem = weakKeyProblem(jwk);
  if (problem !== undefined) problems.push(`${label} is refused: ${problem}`);
}
