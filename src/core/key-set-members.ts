/**
 * The members of a fetched JWK Set, read once per fetch. jose is handed only what it
 * needs to pick and import a public signature key (known members, bounded lengths, plain
 * copies), so it never walks an object the identity provider made huge. A member that can
 * never be trusted (a private or symmetric key, a point off its curve, an RSA exponent or
 * an Edwards point that forges, an over-long member) is left out and reported: a token naming
 * it is answered like a token naming no key, never with an outage of the whole set.
 */
import { isOnCurve, weakKeyProblem } from './key-strength';

/** A member left out of the set, and why. */
export interface UnusableKey {
  kid: string | undefined;
  reason: string;
}

/** What a fetched set becomes: the members jose may use, and those it never sees. */
export interface UsableKeySet {
  keys: Record<string, unknown>[];
  unusable: UnusableKey[];
}

/** The longest value of each member jose reads (RSA up to 16 384 bits, e up to 2^256, P-521 coordinates). */
const MAX_LENGTH: readonly (readonly [string, number])[] = [['kty', 8], ['kid', 256], ['alg', 32], ['use', 16], ['crv', 16], ['n', 2731], ['e', 43], ['x', 88], ['y', 88]];
const MAX_KEY_OPS = 8;
/** Members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
/** The curves a signature key of ours may be on; other key types and curves are not signature keys here. */
const CURVES: Record<string, readonly string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519', 'Ed448'] };
const REQUIRED: Record<string, readonly string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };

/** Whether a member says it is not for verifying signatures (jose never picks it): left out, nothing to report. */
function isForOtherUse(jwk: Record<string, unknown>): boolean {
  const { use, key_ops: keyOps, kty, crv } = jwk;
  if (use !== undefined && use !== 'sig') return true;
  if (Array.isArray(keyOps) && !keyOps.includes('verify')) return true;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return true; // a type no algorithm of ours verifies with
  return CURVES[kty as string] !== undefined && typeof crv === 'string' && !CURVES[kty as string].includes(crv); // X25519, secp256k1
}

/** Why a member is never trusted, whatever it says it is for: it holds secret material. */
function secretMaterial(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty === 'oct') return 'a symmetric key (kty oct) is never published in a JWK Set';
  return PRIVATE_MEMBERS.some((name) => jwk[name] !== undefined) ? 'a private key is never trusted from a JWK Set' : undefined;
}

/** The byte length of an Edwards public key (RFC 8032 §5.1.2, §5.2.2). */
const EDWARDS_BYTES: Record<string, number> = { Ed25519: 32, Ed448: 57 };

/** The member as jose sees it, or why it is unusable. */
function usableMember(jwk: Record<string, unknown>): Record<string, unknown> | string {
  const copy: Record<string, unknown> = {};
  for (const [name, limit] of MAX_LENGTH) {
    const value = jwk[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > limit) return `"${name}" is not a string of at most ${limit} characters`;
    copy[name] = value;
  }
  const keyOps = jwk.key_ops;
  if (keyOps !== undefined) {
    if (!Array.isArray(keyOps) || keyOps.length > MAX_KEY_OPS || keyOps.some((op) => typeof op !== 'string' || op.length > 16)) return '"key_ops" is not a short list of operations';
    copy.key_ops = [...keyOps];
  }
  const missing = REQUIRED[jwk.kty as string].find((name) => copy[name] === undefined);
  if (missing !== undefined) return `a ${jwk.kty} key needs "${missing}"`;
  if (jwk.kty === 'EC' && !isOnCurve(copy.crv as string, copy.x as string, copy.y as string)) return `its point is not on ${copy.crv}`;
  if (jwk.kty === 'OKP' && Buffer.from(copy.x as string, 'base64url').length !== EDWARDS_BYTES[copy.crv as string]) return `its x is not a ${copy.crv} public key`;
  return weakKeyProblem(copy) ?? copy;
}

/**
 * A kid as a warning may show it: escaped like a JSON string (no control character), at most 64 characters.
 *
 * @example shownKid('a\nb') // 'a\\nb'
 */
export function shownKid(kid: string): string {
  return JSON.stringify(kid).slice(1, -1).slice(0, 64);
}

function kidOf(jwk: Record<string, unknown>): string | undefined {
  return typeof jwk.kid === 'string' ? shownKid(jwk.kid) : undefined;
}

/**
 * Sorts the members of a JWK Set (its `keys`, each an object already) into those jose may
 * use, as bounded plain copies, and those never trusted, with the reason.
 *
 * @example const { keys, unusable } = usableKeys(fetched.keys)
 */
export function usableKeys(members: readonly Record<string, unknown>[]): UsableKeySet {
  const keys: Record<string, unknown>[] = [];
  const unusable: UnusableKey[] = [];
  for (const jwk of members) {
    const secret = secretMaterial(jwk);
    if (secret !== undefined) {
      unusable.push({ kid: kidOf(jwk), reason: secret });
      continue;
    }
    if (isForOtherUse(jwk)) continue;
    const member = usableMember(jwk);
    if (typeof member === 'string') unusable.push({ kid: kidOf(jwk), reason: member });
    else keys.push(member);
  }
  return { keys, unusable };
}
