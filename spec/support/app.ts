/**
 * A minimal routing-controllers app for the key specs: one protected route,
 * served with createKoaServer and an explicit controller list.
 */
import type { Server } from 'node:http';
import { createHmac, randomUUID, sign as cryptoSign, constants, KeyObject } from 'node:crypto';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import { Identity, JwtRequired } from '../../src';

@JsonController()
export class KeysTestController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() identity: string) {
    return { identity };
  }
}

/** Listens on a free port. @example const server = listenTestApp() */
export function listenTestApp(): Server {
  const app = createKoaServer({ controllers: [KeysTestController], defaultErrorHandler: false });
  app.silent = true;
  return app.listen(0);
}

export type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });

/** jose 6 is ESM only: loaded with a dynamic import. */
export function loadJose(): Promise<Jose> {
  return import('jose');
}

/** The claims of a valid access token for `sub`, as our library would write them. */
export function accessClaims(sub = 'alice', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub, type: 'access', fresh: false, jti: randomUUID(), iat: now, nbf: now, exp: now + 300, ...extra };
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Hand-signs a compact JWS with any header: what an attacker can build
 * (libraries refuse, e.g., an HMAC keyed with a PEM).
 */
export function craftToken(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | Buffer | string): string {
  const input = `${segment(header)}.${segment(payload)}`;
  const alg = String(header.alg);
  const hash = `sha${alg.slice(2)}`;
  let signature: Buffer;
  if (alg.startsWith('HS')) signature = createHmac(hash, key as Buffer).update(input).digest();
  else if (alg.startsWith('PS')) signature = cryptoSign(hash, Buffer.from(input), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  else if (alg === 'EdDSA') signature = cryptoSign(null, Buffer.from(input), key as KeyObject);
  else if (alg.startsWith('ES')) signature = cryptoSign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else signature = cryptoSign(hash, Buffer.from(input), key as KeyObject);
  return `${input}.${signature.toString('base64url')}`;
}
