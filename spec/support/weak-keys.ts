/**
 * Public keys that verify forged signatures without any private key, and the forgeries
 * themselves, for the weak-key specs. Written from the mathematics, not from the library's
 * lists: an RSA key with e = 1 accepts the PKCS#1 v1.5 encoding of the hash as its signature;
 * an Ed25519 key of small order accepts R = identity, S = 0 for one message in ord(A).
 */
import { createHash, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, verify } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A 2048-bit RSA public JWK with public exponent 1 (a random odd modulus: nobody has a private key). */
export function exponentOneJwk(): { kty: 'RSA'; n: string; e: string } {
  const n = randomBytes(256);
  n[0] |= 0x80;
  n[255] |= 1;
  return { kty: 'RSA', n: n.toString('base64url'), e: 'AQ' };
}

/** An RS256 token an exponent-1 key accepts: its "signature" is the padded hash itself. */
export function forgeForExponentOne(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(input).digest()]);
  const encoded = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(256 - 3 - digestInfo.length, 0xff), Buffer.from([0]), digestInfo]);
  return `${input}.${encoded.toString('base64url')}`;
}

/** A real RSA pair with a small or unusual public exponent (node generates e = 3, 17...). */
export function rsaWithExponent(publicExponent: number): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent });
}

const little = (value: bigint) => {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i += 1, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
};
const P = 2n ** 255n - 19n;

/**
 * The 14 encodings of the 8 Ed25519 points of small order: y = 1 (order 1), y = -1 (2),
 * y = 0 (4, x = ±sqrt(-1)), the two y of order 8, each with the sign bit clear and set, and
 * the non-canonical y = p (≡ 0) and y = p + 1 (≡ 1), both signs; base64url.
 */
export const ED25519_SMALL_ORDER: readonly string[] = [
  little(1n), little(P - 1n), little(0n),
  Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex'),
  Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex'),
  little(P), little(P + 1n),
].flatMap((point) => [point, Buffer.from(point.map((byte, i) => (i === 31 ? byte | 0x80 : byte)))]).map((point) => point.toString('base64url'));

const IDENTITY = little(1n);

/** Whether node's own `crypto.verify` accepts R = identity, S = 0 from the small-order key `x` for some message. */
export function nodeAcceptsSmallOrderForgery(x: string): boolean {
  return findForgery(x, { alg: 'EdDSA' }, {}) !== undefined;
}

function findForgery(x: string, header: Record<string, unknown>, payload: Record<string, unknown>): string | undefined {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const input = `${b64(header)}.${b64({ ...payload, jti: `forged-${attempt}` })}`;
    if (verify(null, Buffer.from(input), key, FORGED_SIGNATURE)) return `${input}.${FORGED_SIGNATURE.toString('base64url')}`;
  }
  return undefined;
}

const FORGED_SIGNATURE = Buffer.concat([IDENTITY, Buffer.alloc(32)]);

/**
 * An EdDSA token the small-order key `x` accepts: R = identity, S = 0, with the payload's
 * `jti` varied until node's own verification accepts it (one message in ord(A) does). Node 20
 * and 22 accept one for each of the 14 keys; node 24's Ed25519 verification refuses small-order
 * keys itself, and there the token has the forgery's shape without verifying anywhere: the
 * library's refusal of the key is what the specs check either way.
 */
export function forgeForSmallOrder(x: string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return findForgery(x, header, payload) ?? `${b64(header)}.${b64({ ...payload, jti: 'forged-0' })}.${FORGED_SIGNATURE.toString('base64url')}`;
}
