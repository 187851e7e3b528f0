/**
 * Whether bytes meant as an HMAC secret are really a key in disguise. A public key is public:
 * used as an HMAC secret (algorithm confusion), anyone holding it can forge tokens. So every
 * form a key travels in is refused as a secret, however it is wrapped: PEM, DER (SPKI,
 * PKCS#1, PKCS#8, SEC1, X.509), a JWK, a JWK Set or a list of JWKs as JSON, an OpenSSH public
 * key, a raw EC point on P-256/384/521, and base64 / base64url / hex of any of them, with or
 * without a byte order mark and surrounding white space. Runs at `configure()` and once per
 * distinct `decodeKeyLoader` value, never per request.
 *
 * What cannot be told from a random secret is not guessed at: a bare RSA modulus (`n`), an
 * Ed25519 `x`, an EC `x` alone or a compressed point are random-looking bytes (half of all
 * 32-byte strings are valid Ed25519 points), so refusing them would refuse real secrets.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { isOnCurve } from './key-strength';

const PEM = /-----BEGIN [A-Z0-9 ]+-----|---- BEGIN SSH2 PUBLIC KEY ----/;
/** An OpenSSH public key line (`ssh-ed25519 AAAA... user@host`, also behind authorized_keys options). */
const OPENSSH_LINE = /(?:^|\s)(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)\s+AAAA[A-Za-z0-9+/]{8,}/;
/** The UTF-8 byte order mark as `latin1` reads it, and white space, around a key. */
const BOM_AND_SPACE = /^(?:\u00ef\u00bb\u00bf|\s)+|\s+$/g;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** A DER SEQUENCE that node:crypto reads as a key or a certificate. */
function isDerKey(bytes: Buffer): boolean {
  if (bytes.length < 16 || bytes[0] !== 0x30) return false; // every DER key form is a SEQUENCE
  const attempts = [
    () => createPublicKey({ key: bytes, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'sec1' }),
    () => new X509Certificate(bytes),
  ];
  return attempts.some((attempt) => {
    try {
      attempt();
      return true;
    } catch {
      return false;
    }
  });
}

/** A JSON object with a string `kty` (a JWK), a JWK Set, or a list holding a JWK. */
function isJwkJson(text: string): boolean {
  if (!text.startsWith('{') && !text.startsWith('[')) return false;
  const isJwk = (value: unknown) => typeof value === 'object' && value !== null && typeof (value as { kty?: unknown }).kty === 'string';
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    if (Array.isArray(parsed)) return parsed.some(isJwk);
    return isJwk(parsed) || (typeof parsed === 'object' && parsed !== null && Array.isArray(parsed.keys));
  } catch {
    return false;
  }
}

/** An SSH wire-format public key (RFC 4253 §6.6: a length-prefixed algorithm name first), as in an OpenSSH line's base64. */
function isSshWireKey(bytes: Buffer): boolean {
  if (bytes.length < 20) return false;
  const nameLength = bytes.readUInt32BE(0);
  if (nameLength < 7 || nameLength > 64 || bytes.length < 4 + nameLength) return false;
  return /^(?:ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+$/.test(bytes.toString('latin1', 4, 4 + nameLength));
}

/** The coordinate size of P-256, P-384 and P-521, by curve. */
const POINT_BYTES: Record<number, string> = { 32: 'P-256', 48: 'P-384', 66: 'P-521' };

/**
 * A raw EC public point on P-256/384/521: `04 || x || y` (65, 97, 133 bytes) or `x || y`.
 * A random secret of that length is on the curve with probability about 2^-256.
 */
function isEcPoint(bytes: Buffer): boolean {
  const coordinates = bytes.length % 2 === 1 && bytes[0] === 0x04 ? bytes.subarray(1) : bytes;
  const curve = POINT_BYTES[coordinates.length / 2];
  if (curve === undefined) return false;
  const half = coordinates.length / 2;
  return isOnCurve(curve, coordinates.subarray(0, half).toString('base64url'), coordinates.subarray(half).toString('base64url'));
}

/** The key form `bytes` hold directly (no decoding), or `undefined`. */
function directForm(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  if (PEM.test(text)) return 'PEM';
  const trimmed = text.replace(BOM_AND_SPACE, '');
  if (isJwkJson(trimmed)) return 'JWK';
  if (OPENSSH_LINE.test(trimmed)) return 'public SSH';
  if (isSshWireKey(bytes)) return 'public SSH';
  if (isDerKey(bytes)) return 'DER';
  if (isEcPoint(bytes)) return 'raw EC public';
  return undefined;
}

/**
 * The key form hidden in would-be HMAC secret bytes (`'PEM'`, `'DER'`, `'JWK'`,
 * `'base64 DER'`, `'hex DER'`...), or `undefined` for a plain secret.
 *
 * @example keyFormOf(createPublicKey(pem).export({ format: 'der', type: 'spki' })) // 'DER'
 */
export function keyFormOf(bytes: Buffer): string | undefined {
  const direct = directForm(bytes);
  if (direct !== undefined) return direct;
  const text = bytes.toString('latin1').replace(BOM_AND_SPACE, '').replace(/\s+/g, '');
  if (HEX.test(text)) {
    const form = directForm(Buffer.from(text, 'hex'));
    if (form !== undefined) return `hex ${form}`;
  }
  if (BASE64.test(text)) {
    const form = directForm(Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'));
    if (form !== undefined) return `base64 ${form}`;
    if (isJwkCoordinates(text)) return 'JWK x + y';
  }
  return undefined;
}

/** The base64url length of one coordinate of P-256, P-384, P-521, by curve. */
const COORDINATE_CHARACTERS: Record<number, string> = { 43: 'P-256', 64: 'P-384', 88: 'P-521' };

/** A JWK's `x` and `y` written one after the other (each base64url on its own, so not one decodable string). */
function isJwkCoordinates(text: string): boolean {
  const curve = COORDINATE_CHARACTERS[text.length / 2];
  return curve !== undefined && isOnCurve(curve, text.slice(0, text.length / 2), text.slice(text.length / 2));
}
