/**
 * JWS compact serialization: split, decode and signature check, with nothing
 * parsed from the payload before its signature is known good. Every failure is
 * an `InvalidTokenError` with a short reason, never a raw `SyntaxError`.
 */
import { constants, createHmac, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { InvalidTokenError } from './errors';

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

/**
 * The bytes of a segment that is base64url's alphabet only (`^[A-Za-z0-9_-]+$`), in a length that
 * encodes whole bytes (4n+1 cannot; Buffer.from would silently drop the last character).
 * Without a regular expression (it cost ~12 instructions a character, the dearest step of a
 * miss after the HMAC): Node's decoder skips a character outside the alphabet (white space,
 * '=', anything else) and so decodes fewer bytes than the length promises (one skipped
 * character of a 4n+2 or 4n+3 segment leaves 4n+1 or 4n+2: one byte less), except base64's
 * own '+' and '/', which it also takes, and a character above U+007F, which it may read by
 * its low byte: those two are looked for first (spec/core/jws-alphabet.spec.ts checks every
 * BMP character at every place against the regular expression, on the running Node).
 */
function decodeSegment(segment: string, name: string): Buffer {
  const length = segment.length;
  if (length !== 0 && length % 4 !== 1 && segment.indexOf('+') < 0 && segment.indexOf('/') < 0 && Buffer.byteLength(segment, 'utf8') === length) {
    const bytes = Buffer.from(segment, 'base64url');
    if (bytes.length === (length * 3) >> 2) return bytes;
  }
  throw new InvalidTokenError(`Invalid ${name} padding`, 'ERR_JWT_MALFORMED');
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

/** Header segments longer than this are never cached (a cache of attacker-chosen headers stays small). */
const CACHED_HEADER_MAX_LENGTH = 256;

/** Parsed headers by segment, each deep-frozen (the verifier's, bounded): see `parseCompactToken`. */
export interface HeaderCache {
  get(segment: string): Record<string, unknown> | undefined;
  set(segment: string, header: Record<string, unknown>): void;
}

/** Freezes `value` and everything in it; iterative, so no nesting depth can overflow the stack. */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== 'object' || item === null || Object.isFrozen(item)) continue;
    Object.freeze(item);
    for (const child of Object.values(item)) if (typeof child === 'object' && child !== null) pending.push(child);
  }
  return value;
}

/**
 * Splits a compact JWS and decodes its header; the payload stays encoded. With `headers`, a
 * header segment seen before is not decoded again: the tokens of one issuer share a few
 * headers, so the cache answers the same deep-frozen object (its JSON text is the same).
 *
 * @example const { header } = parseCompactToken(token, 8192)
 */
export function parseCompactToken(token: string, maxLength: number, headers?: HeaderCache): ParsedToken {
  if (token.length > maxLength) throw new InvalidTokenError('Token is too long', 'ERR_JWT_TOO_LONG');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0) throw new InvalidTokenError('Not enough segments', 'ERR_JWT_MALFORMED');
  if (token.indexOf('.', second + 1) >= 0) throw new InvalidTokenError('Too many segments', 'ERR_JWT_MALFORMED');
  const headerSegment = token.slice(0, first);
  const payloadSegment = token.slice(first + 1, second);
  const header = headers === undefined ? decodeJsonSegment(headerSegment, 'header') : cachedHeader(headerSegment, headers);
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

function cachedHeader(segment: string, headers: HeaderCache): Record<string, unknown> {
  const known = headers.get(segment);
  if (known !== undefined) return known;
  const header = deepFreeze(decodeJsonSegment(segment, 'header'));
  if (segment.length <= CACHED_HEADER_MAX_LENGTH) headers.set(segment, header);
  return header;
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
