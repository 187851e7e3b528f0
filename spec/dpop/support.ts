/** Shared by the DPoP specs: a plain Koa app with every door, keys, and hand-made (bad) proofs. */
import { createHmac, generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import {
  createAccessToken, createRefreshToken, getDpopThumbprint, getJwtIdentity, JwtError, JwtManager, JwtOptions, jwtContext, jwtRequired,
  rotateRefreshToken, verifyDpopProof, verifyJwtInRequest,
} from '../../src';
import { DpopError } from '../../src/core/dpop/errors';

export const SECRET = 'dpop-spec-secret-that-is-long-enough-for-hs256!';
export const ALGS = 'ES256 EdDSA PS256 RS256';
export const INVALID_PROOF_CHALLENGE = `DPoP error="invalid_dpop_proof", algs="${ALGS}"`;

export const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** The plain Koa app: login (verifyDpopProof), jwtRequired routes, the imperative door, rotation. */
export function dpopApp(): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(jwtContext()); // the getters after verifyJwtInRequest / verifyDpopProof
  // the README's one-line error middleware, plus the DPoP headers of an escaping refusal
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof JwtError)) throw error;
      ctx.status = error.status;
      ctx.body = error.toJSON();
      if (error instanceof DpopError) ctx.set(error.headers);
    }
  });
  const router = new Router();
  router.post('/login', async (ctx) => {
    const dpopJkt = await verifyDpopProof(ctx);
    ctx.body = {
      jkt: dpopJkt ?? null,
      seen: getDpopThumbprint() ?? null,
      access: await createAccessToken('alice', { dpopJkt }),
      refresh: await createRefreshToken('alice', { dpopJkt }),
    };
  });
  router.all('/me', jwtRequired(), (ctx) => {
    ctx.body = { sub: getJwtIdentity(), jkt: getDpopThumbprint() ?? null };
  });
  router.get('/admin', jwtRequired({ roles: ['admin'] }), (ctx) => {
    ctx.body = { admin: getJwtIdentity() };
  });
  router.get('/imperative', async (ctx) => {
    await verifyJwtInRequest(ctx);
    ctx.body = { sub: getJwtIdentity(), jkt: getDpopThumbprint() ?? null };
  });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
    ctx.body = await rotateRefreshToken();
  });
  app.use(router.routes());
  return app;
}

export interface Started {
  server: Server;
  origin: string;
}

export function startDpopApp(options: Partial<JwtOptions> = {}, app: Koa = dpopApp()): Promise<Started> {
  JwtManager.configure({ secret: SECRET, ...options });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A proof built by hand from any header and claims (what an attacker can send). `jwk` defaults
 * to the public half of `privateKey`; the signature is ES256 unless `alg` says otherwise.
 */
export function craftProof(
  privateKey: KeyObject,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const jwk = header.jwk ?? publicJwk(privateKey);
  const fullHeader = { typ: 'dpop+jwt', alg: 'ES256', jwk, ...header };
  const input = `${segment(fullHeader)}.${segment({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })}`;
  const alg = String(fullHeader.alg);
  let signature: Buffer;
  if (alg === 'none') signature = Buffer.alloc(0);
  else if (alg.startsWith('HS')) signature = createHmac('sha256', 'a-shared-secret').update(input).digest();
  else if (alg === 'EdDSA') signature = sign(null, Buffer.from(input), privateKey);
  else signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

export function publicJwk(privateKey: KeyObject): Record<string, unknown> {
  const { d: _d, ...jwk } = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return jwk;
}
