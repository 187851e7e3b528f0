/**
 * koa-jwt-extended/testing: unit-test controllers with fake tokens, no server.
 * Everything here goes through the configured manager and the one verification
 * pipeline: a token or call the pipeline would refuse is refused here too.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { runWithStore } from '../core/async-context';
import { JwtUsageError } from '../core/errors';
import type { AccessTokenOptions, RefreshTokenOptions } from '../core/issue';
import { JwtManager } from '../core/manager';
import { requestContext } from '../koa/context';

import { prepareDirectCalls } from '../koa/marks';

export { JwtHttpError } from '../core/http-error';
export { dpopProof, dpopThumbprint } from './dpop';
export type { DpopKey, DpopProofOptions } from './dpop';

/**
 * An access token signed with the configured key (and recorded in the revocation
 * store when access tokens are checked), so it passes or fails exactly as a real one.
 * `dpopJkt` binds it to a DPoP key (`await dpopThumbprint(key)`).
 *
 * @example const token = await fakeAccessToken('alice', { fresh: true, claims: { roles: ['admin'] } })
 * @example const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(privateKey) })
 */
export function fakeAccessToken(identity: string | number | object, options: AccessTokenOptions = {}): Promise<string> {
  return JwtManager.instance.createAccessToken(identity, options);
}

/**
 * A refresh token signed with the configured key (and recorded when refresh tokens are checked), so it passes or fails exactly as a real one.
 *
 * @example const token = await fakeRefreshToken('alice')
 */
export function fakeRefreshToken(identity: string | number | object, options: RefreshTokenOptions = {}): Promise<string> {
  return JwtManager.instance.createRefreshToken(identity, options);
}

/** An access token that expired a minute ago (refused with the expired answer). @example await expiredAccessToken('alice') */
export function expiredAccessToken(identity: string | number | object, options: Omit<AccessTokenOptions, 'expiresIn'> = {}): Promise<string> {
  return fakeAccessToken(identity, { ...options, expiresIn: -60 });
}

/** An access token that has been revoked (needs revocation with checks 'all'). @example await revokedAccessToken('alice') */
export async function revokedAccessToken(identity: string | number | object, options: AccessTokenOptions = {}): Promise<string> {
  const token = await fakeAccessToken(identity, options);
  await revoke(token);
  return token;
}

/** A refresh token that has been revoked (needs revocation on). @example await revokedRefreshToken('alice') */
export async function revokedRefreshToken(identity: string | number | object, options: RefreshTokenOptions = {}): Promise<string> {
  const token = await fakeRefreshToken(identity, options);
  await revoke(token);
  return token;
}

async function revoke(token: string): Promise<void> {
  const manager = JwtManager.instance;
  if (!manager.config.revocation) throw new JwtUsageError('revoked tokens need revocation: configure revocation: { store, checks }');
  const payload = await manager.decodeToken(token);
  await manager.revokeToken(payload.jti);
}

/**
 * The token with its payload changed (e.g. `{ sub: 'admin' }`) and its original
 * signature kept: what an attacker would send. Refused with `Signature verification failed`.
 *
 * @example const forged = tamperToken(await fakeAccessToken('alice'), { sub: 'admin' })
 */
export function tamperToken(token: string, changes: Record<string, unknown> = { sub: 'attacker' }): string {
  const [header, payload, signature] = token.split('.');
  if (signature === undefined) throw new JwtUsageError('tamperToken needs a compact JWT');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...changes };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/**
 * A well-formed access token signed with a random key that is not ours.
 *
 * @example const stranger = foreignAccessToken('alice')
 */
export function foreignAccessToken(identity: string): string {
  const { identityClaim } = JwtManager.instance.config;
  const now = Math.floor(Date.now() / 1000);
  const payload = { [identityClaim]: identity, type: 'access', fresh: false, jti: randomBytes(16).toString('hex'), iat: now, nbf: now, exp: now + 900 };
  return jwt.sign(payload, createSecretKey(randomBytes(32)), { algorithm: 'HS256' });
}

/**
 * Runs `fn` as if the current request carried `token` in the configured header.
 * Decorated controller methods called inside it are checked by the same pipeline
 * (type, freshness, revocation) and get `@Identity()` / `@Claims()` injected; a
 * refusal rejects with a `JwtHttpError` whose `status` and `body` are the route's answer.
 *
 * A DPoP-bound token needs the request its proof is for (`request`), as a route would.
 *
 * Before `fn` runs, every class routing-controllers has recorded (controllers, and classes that
 * declare routes or decorated parameters) has its guarded methods wrapped, overrides without a
 * guard decorator of their own included. A subclass no decorator names (`class Plain extends
 * Guarded { secret() {} }`) is out of reach: its override runs unchecked, here as anywhere.
 *
 * @example
 * const result = await withToken(await fakeAccessToken('alice'), () => controller.profile());
 * @example
 * const proof = await dpopProof(key, { htm: 'GET', htu: 'https://api.example.com/me', token });
 * await withToken(token, () => controller.profile(), { method: 'GET', url: 'https://api.example.com/me', dpop: proof });
 */
export function withToken<T>(token: string | undefined, fn: () => T | Promise<T>, request?: WithTokenRequest): Promise<T> {
  prepareDirectCalls(); // the decorators wrap guarded controller methods, when they are in use
  const dpopRequest = request === undefined ? undefined : { method: request.method, uri: request.url.split(/[?#]/)[0], dpop: request.dpop };
  // entered as a request's guard enters it (runWithStore), so a test sees the context a request would
  return runWithStore(requestContext, { token, payload: undefined, guard: undefined, dpopRequest }, async () => fn());
}

/**
 * The request `withToken` stands for, when its token is DPoP-bound: the token then counts as
 * sent with the `DPoP` scheme, and `dpop` (from `dpopProof()`) is checked against `method` and `url`.
 */
export interface WithTokenRequest {
  method: string;
  /** The request's absolute URL, e.g. `'https://api.example.com/me'`. */
  url: string;
  /** The `DPoP` header; leave it out to see the refusal of a bound token without a proof. */
  dpop?: string;
}

/**
 * The header carrying `token` as the configured `headerName` / `headerType` expect,
 * for supertest's `.set()`.
 *
 * @example await request(server).get('/protected').set(authHeader(token))
 */
export function authHeader(token: string): Record<string, string> {
  const { headerName, headerType } = JwtManager.instance.config;
  return { [headerName]: headerType === '' ? token : `${headerType} ${token}` };
}
