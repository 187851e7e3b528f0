/**
 * JWS compact serialization: split, decode and signature check, with nothing
 * parsed from the payload before its signature is known good. Every failure is
 * an `InvalidTokenError` with a short reason, never a raw `SyntaxError`.
 */
import { constants, createHmac, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { InvalidTokenError } from './errors';

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Bits of the last character that carry no byte, by segment length mod 4: 4n+2 leaves 4, 4n+3 leaves 2. */
const UNUSED_BITS = [0, 0, 0b1111, 0b11];

export interface ParsedToken {
  header: Record<string, unknown>;
  /** `base64url(header).base64url(payload)`, the bytes the signature covers. */
  signingInput: string;
  payloadSegment: string;
  signature: Buffer;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function decodeSegment(segment: string, name: string): Buffer {
  // base64url length 4n+1 cannot encode whole bytes; Buffer.from would silently drop it.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) {
    throw new InvalidTokenError(`Invalid ${name} padding`, 'ERR_JWT_MALFORMED');
  }
  return Buffer.from(segment, 'base64url');
}

/**
 * Whether a (well-formed) base64url segment is the one spelling of its bytes: the
 * unused low bits of its last character are zero (RFC 4648 §3.5). A decoder ignores
 * those bits, so without this check one signature would have up to 16 spellings.
 */
function isCanonical(segment: string): boolean {
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]);
  return (last & UNUSED_BITS[segment.length % 4]) === 0;
}

/** Decodes a base64url segment holding a JSON object. */
export function decodeJsonSegment(segment: string, name: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment, name).toString('utf8'));
  } catch (error) {
    if (error instanceof InvalidTokenError) throw error;
    throw new InvalidTokenError(`Invalid ${name} string: not valid JSON`, 'ERR_JWT_MALFORMED', error);
  }
  if (!isPlainObject(value)) {
    throw new InvalidTokenError(`Invalid ${name} string: must be a JSON object`, 'ERR_JWT_MALFORMED');
  }
  return value;
}

/**
 * Splits a compact JWS and decodes its header; the payload stays encoded.
 *
 * @example const { header } = parseCompactToken(token, 8192)
 */
export function parseCompactToken(token: string, maxLength: number): ParsedToken {
  if (token.length > maxLength) throw new InvalidTokenError('Token is too long', 'ERR_JWT_TOO_LONG');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0) throw new InvalidTokenError('Not enough segments', 'ERR_JWT_MALFORMED');
  if (token.indexOf('.', second + 1) >= 0) throw new InvalidTokenError('Too many segments', 'ERR_JWT_MALFORMED');
  const headerSegment = token.slice(0, first);
  const payloadSegment = token.slice(first + 1, second);
  const header = decodeJsonSegment(headerSegment, 'header');
  if (payloadSegment === '') throw new InvalidTokenError('Invalid payload padding', 'ERR_JWT_MALFORMED');
  // an empty signature (alg 'none') parses, so the alg allow-list is what refuses it
  const signatureSegment = token.slice(second + 1);
  const signature = signatureSegment === '' ? Buffer.alloc(0) : decodeSegment(signatureSegment, 'signature');
  // a respelled signature is another token string for the same signature: refused as a bad signature.
  // Header and payload need no such check: the signature covers their exact text.
  if (signatureSegment !== '' && !isCanonical(signatureSegment)) {
    throw signatureVerificationFailed();
  }
  return { header, signingInput: token.slice(0, second), payloadSegment, signature };
}

/** The refusal of a signature that does not verify (or is not spelled canonically). */
export function signatureVerificationFailed(): InvalidTokenError {
  return new InvalidTokenError('Signature verification failed', 'ERR_JWT_SIGNATURE');
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const ES_SIGNATURE_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };
/** An Ed25519 signature is always 64 bytes (RFC 8032 §5.1.6). */
const ED25519_SIGNATURE_BYTES = 64;

/** Checks a signature with `algorithm` (already on the allow-list) and `key`. */
export function isSignatureValid(algorithm: string, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const hash = HASHES[algorithm.slice(2)];
  const family = algorithm.slice(0, 2);
  try {
    if (family === 'HS') {
      const expected = createHmac(hash, key).update(signingInput).digest();
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    }
    const data = Buffer.from(signingInput);
    if (family === 'RS') return cryptoVerify(hash, data, key, signature);
    if (family === 'PS') {
      return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    if (algorithm === 'EdDSA') {
      // EdDSA hashes inside the algorithm: no digest name (RFC 8037 §3.1)
      return signature.length === ED25519_SIGNATURE_BYTES && key.asymmetricKeyType === 'ed25519' && cryptoVerify(null, data, key, signature);
    }
    // raw r||s has one length per curve; refuse any other shape without asking OpenSSL
    if (signature.length !== ES_SIGNATURE_BYTES[algorithm]) return false;
    return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false; // a signature of the wrong shape for the key is just a bad signature
  }
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Signs a compact JWS with EdDSA (Ed25519), which jsonwebtoken 9 lacks. The header is laid
 * out as jsonwebtoken lays out its own (`alg`, `typ`, `kid`, then extra fields), so tokens of
 * every algorithm look alike to a reader.
 *
 * @example signEdDsa(payload, privateKey, { kid: 'k1' })
 */
export function signEdDsa(
  payload: Record<string, unknown>,
  key: KeyObject,
  options: { kid?: string; header?: Record<string, unknown> } = {},
): string {
  const header: Record<string, unknown> = { alg: 'EdDSA', typ: 'JWT', kid: options.kid, ...options.header };
  header.alg = 'EdDSA'; // extra fields never choose the algorithm
  const signingInput = `${encodeJson(header)}.${encodeJson(payload)}`;
  return `${signingInput}.${cryptoSign(null, Buffer.from(signingInput), key).toString('base64url')}`;
}
