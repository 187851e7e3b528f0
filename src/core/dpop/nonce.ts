/**
 * Stateless server nonces (RFC 9449 §8–9). A nonce names a time window and carries an HMAC
 * of it under a key derived from the signing key, so every instance sharing that key issues
 * and accepts the same nonces without any shared state. The nonce of window n is accepted
 * during windows n and n+1 (one to two windows of life); a proof still using the previous
 * window's nonce is accepted and answered with the current one in `DPoP-Nonce`.
 */
import { createHmac, KeyObject, timingSafeEqual } from 'node:crypto';

const MAC_BYTES = 16;
const INDEX_BYTES = 6;
const NONCE_LENGTH = Math.ceil(((INDEX_BYTES + MAC_BYTES) * 4) / 3);

/** How a proof's nonce stands: the current one, the previous one (still accepted, about to age out), or not ours. */
export type NonceStanding = 'current' | 'previous' | 'invalid';

/**
 * The nonce key of a signing key: only this app (its secret or private key) can mint nonces.
 *
 * @example const key = nonceKey(config.keys.signing.key!)
 */
export function nonceKey(signing: KeyObject): Buffer {
  const material = signing.type === 'secret' ? signing.export() : signing.export({ format: 'der', type: 'pkcs8' });
  return createHmac('sha256', material).update('koa-jwt-extended dpop nonce').digest();
}

export class NonceIssuer {
  private cachedWindow = -1;
  private cachedNonce = '';

  /** @example const nonces = new NonceIssuer(nonceKey(signingKey), 60_000) */
  constructor(private readonly key: Buffer, private readonly windowMs: number) {}

  private windowAt(nowMs: number): number {
    return Math.floor(nowMs / this.windowMs);
  }

  private mint(window: number): string {
    const index = Buffer.alloc(INDEX_BYTES);
    index.writeUIntBE(window, 0, INDEX_BYTES);
    const mac = createHmac('sha256', this.key).update(index).digest().subarray(0, MAC_BYTES);
    return Buffer.concat([index, mac]).toString('base64url');
  }

  /** The nonce to hand out now (computed once per window). @example res.set('DPoP-Nonce', nonces.current(Date.now())) */
  current(nowMs: number): string {
    const window = this.windowAt(nowMs);
    if (window !== this.cachedWindow) {
      this.cachedNonce = this.mint(window);
      this.cachedWindow = window;
    }
    return this.cachedNonce;
  }

  /** How `nonce` stands at `nowMs`. @example nonces.standing(proof.nonce, Date.now()) // 'current' */
  standing(nonce: unknown, nowMs: number): NonceStanding {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return 'invalid';
    const current = this.current(nowMs);
    if (nonce === current) return 'current';
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== INDEX_BYTES + MAC_BYTES || bytes.toString('base64url') !== nonce) return 'invalid';
    const window = bytes.readUIntBE(0, INDEX_BYTES);
    if (window !== this.cachedWindow - 1) return 'invalid';
    const expected = Buffer.from(this.mint(window), 'base64url');
    return timingSafeEqual(expected, bytes) ? 'previous' : 'invalid';
  }
}
