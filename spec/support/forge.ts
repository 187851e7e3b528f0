/**
 * Hand-signing hostile tokens: HMAC over base64url segments with node:crypto,
 * so headers and payloads can be anything a library would never emit.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { SECRET } from './server';

export function b64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

const HASHES: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** HMAC signature (base64url) of `signingInput`. */
export function hmac(signingInput: string, { secret = SECRET, alg = 'HS256' } = {}): string {
  return createHmac(HASHES[alg], secret).update(signingInput).digest('base64url');
}

/**
 * Signs raw header and payload texts (not necessarily JSON) with HMAC.
 *
 * @example forgeRaw('{"alg":"HS256"}', 'not json')
 */
export function forgeRaw(headerText: string, payloadText: string, options: { secret?: string; alg?: string } = {}): string {
  const signingInput = `${b64url(headerText)}.${b64url(payloadText)}`;
  return `${signingInput}.${hmac(signingInput, options)}`;
}

/**
 * Signs any JSON header and payload with HMAC (HS256 and the spec secret unless told).
 *
 * @example forge({ alg: 'HS256', typ: 'JWT' }, payload({ exp: 'soon' }))
 */
export function forge(header: unknown, body: unknown, options: { secret?: string; alg?: string } = {}): string {
  return forgeRaw(JSON.stringify(header), JSON.stringify(body), options);
}

export const HS256_HEADER = { alg: 'HS256', typ: 'JWT' };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * A valid access payload with `overrides` applied; an override of `undefined` removes the claim.
 *
 * @example payload({ sub: undefined }) // no identity claim
 */
export function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  const base: Record<string, unknown> = { sub: 'alice', type: 'access', fresh: false, jti: randomUUID(), iat: now, nbf: now, exp: now + 600 };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

/** A well-signed HS256 token of `payload(overrides)`. */
export function token(overrides: Record<string, unknown> = {}): string {
  return forge(HS256_HEADER, payload(overrides));
}
