/**
 * The proof's `jwk` header (RFC 9449 §4.2, §4.3 step 7): a public key only, of the kind its
 * `alg` needs, imported once, and its RFC 7638 thumbprint (the `jkt` a token is bound to).
 */
import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { isPlainObject } from '../jws';
import { weakKeyProblem } from '../key-strength';

/** Members that make a JWK private (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MIN_RSA_BITS = 2048;

/** Which key each algorithm needs: the JWK `kty`, the curve, and the RFC 7638 members in lexicographic order. */
interface KeyShape {
  kty: 'EC' | 'OKP' | 'RSA';
  curves?: readonly string[];
  members: readonly string[];
}
const EC = (curve: string): KeyShape => ({ kty: 'EC', curves: [curve], members: ['crv', 'kty', 'x', 'y'] });
const RSA: KeyShape = { kty: 'RSA', members: ['e', 'kty', 'n'] };
const SHAPES: Record<string, KeyShape> = {
  ES256: EC('P-256'), ES384: EC('P-384'), ES512: EC('P-521'),
  EdDSA: { kty: 'OKP', curves: ['Ed25519', 'Ed448'], members: ['crv', 'kty', 'x'] },
  RS256: RSA, RS384: RSA, RS512: RSA, PS256: RSA, PS384: RSA, PS512: RSA,
};

/** A proof key: the imported public key and its thumbprint. */
export interface ProofKey {
  key: KeyObject;
  /** base64url(SHA-256(the RFC 7638 canonical JWK)). */
  thumbprint: string;
}

/**
 * Why `jwk` is not a public key fit for `alg`, or `undefined` when it is.
 *
 * @example jwkProblem({ kty: 'EC', crv: 'P-256', x, y, d }, 'ES256') // 'the jwk holds a private key'
 */
export function jwkProblem(jwk: unknown, alg: string): string | undefined {
  if (!isPlainObject(jwk)) return 'the jwk header is not a JSON object';
  if (PRIVATE_MEMBERS.some((member) => jwk[member] !== undefined)) return 'the jwk holds a private key';
  const shape = SHAPES[alg];
  if (shape === undefined || jwk.kty !== shape.kty) return `the jwk is not a ${shape?.kty ?? 'known'} key, as ${alg} needs`;
  if (shape.curves !== undefined && !shape.curves.includes(jwk.crv as string)) return `the jwk's curve does not fit ${alg}`;
  for (const member of shape.members) {
    if (member === 'kty' || member === 'crv') continue;
    const value = jwk[member];
    if (typeof value !== 'string' || !BASE64URL.test(value)) return `the jwk's ${member} is not base64url`;
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) return "the jwk's alg differs from the proof's";
  return undefined;
}

/**
 * The RFC 7638 thumbprint of a JWK already checked by {@link jwkProblem}: its required
 * members in lexicographic order, no white space (every value is a plain string, so
 * `JSON.stringify` writes exactly that form).
 *
 * @example jwkThumbprint({ kty: 'EC', crv: 'P-256', x, y }) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const shape = SHAPES[jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'OKP' ? 'EdDSA' : 'ES256'];
  const canonical: Record<string, unknown> = {};
  for (const member of shape.members) canonical[member] = jwk[member];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/**
 * Imports a checked public JWK for `alg` (only its required members: nothing else can change
 * what key it is); `undefined` when it is not a valid key (off the curve, an RSA modulus
 * under 2048 bits, a weak key: see key-strength.ts).
 *
 * @example const proofKey = importProofKey(header.jwk, 'ES256')
 */
export function importProofKey(jwk: Record<string, unknown>, alg: string): ProofKey | undefined {
  const shape = SHAPES[alg];
  const members: Record<string, string> = {};
  for (const member of shape.members) members[member] = jwk[member] as string;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (shape.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
  // a key anyone can sign for (RSA e = 1, an Ed25519 point of small order) binds nothing
  if (weakKeyProblem(members) !== undefined) return undefined;
  return { key, thumbprint: jwkThumbprint(jwk) };
}
