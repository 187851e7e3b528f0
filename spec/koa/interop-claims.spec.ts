import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createAccessToken, createRefreshToken, decodeToken, JwtOptions, JwtUsageError, MemoryTokenStore } from '../../src';
import { expectResponse } from '../support/assert-response';
import { HS256_HEADER, forge, nowSeconds, payload, token } from '../support/forge';
import { serve, stop } from '../support/server';
import { InteropController } from './interop-routes';

/** Flask-JWT-Extended 4 claims and the options that accept them, through real routes. */
describe('koa: interop claims (fje 4 tokens and outside issuers)', () => {
  let server: Server | undefined;
  afterEach(() => stop(server));

  function start(options: Partial<JwtOptions> = {}): void {
    server = serve([InteropController], options);
  }

  const get = (path: string, bearer: string) => request(server!).get(path).set('Authorization', `Bearer ${bearer}`);

  describe('timed freshness', () => {
    it("createAccessToken(id, { fresh: '15m' }) writes fresh as now + 900 and opens the fresh route", async () => {
      start();
      const issued = await createAccessToken('alice', { fresh: '15m' });
      const claims = await decodeToken(issued);
      assert.ok(Math.abs((claims.fresh as number) - (nowSeconds() + 900)) <= 1, `fresh ${claims.fresh}`);
      expectResponse(await get('/interop/fresh', issued), 200, { identity: 'alice' });
    });

    it('a token whose timed freshness has passed is refused on the fresh route: 401 Fresh token required', async () => {
      start();
      const stale = await createAccessToken('alice', { fresh: -1 });
      expectResponse(await get('/interop/fresh', stale), 401, { msg: 'Fresh token required' });
    });

    it('a token whose timed freshness has passed still opens a plain access route', async () => {
      start();
      const stale = await createAccessToken('alice', { fresh: -1 });
      expectResponse(await get('/interop/me', stale), 200, { identity: 'alice' });
    });

    it('a float fresh in the future (fje 4 fresh=timedelta) opens the fresh route', async () => {
      start();
      expectResponse(await get('/interop/fresh', token({ fresh: Date.now() / 1000 + 60.25 })), 200, { identity: 'alice' });
    });

    it('a float fresh a moment ago is refused on the fresh route', async () => {
      start();
      expectResponse(await get('/interop/fresh', token({ fresh: Date.now() / 1000 - 0.5 })), 401, { msg: 'Fresh token required' });
    });

    it('fresh as a string is refused: 422', async () => {
      start();
      expectResponse(await get('/interop/me', token({ fresh: '2030-01-01' })), 422, { msg: 'Invalid claim: fresh must be a boolean or a NumericDate' });
    });

    it('createAccessToken with a fresh that is no duration is a usage error', async () => {
      start();
      await assert.rejects(createAccessToken('alice', { fresh: '15' }), (error: unknown) => error instanceof JwtUsageError && /fresh must be/.test(error.message));
    });
  });

  describe('verifySub: false (integer identities)', () => {
    it('by default a numeric identity is refused: 422', async () => {
      start();
      expectResponse(await get('/interop/me', token({ sub: 42 })), 422, { msg: 'Subject must be a string' });
    });

    it('with verifySub: false a numeric identity passes and @Identity() gives the number', async () => {
      start({ verifySub: false });
      expectResponse(await get('/interop/me', token({ sub: 42 })), 200, { identity: 42 });
    });

    it('with verifySub: false a missing identity is still refused: 422 Missing claim: sub', async () => {
      start({ verifySub: false });
      expectResponse(await get('/interop/me', token({ sub: undefined })), 422, { msg: 'Missing claim: sub' });
    });

    it('with verifySub: false a null identity is refused as missing', async () => {
      start({ verifySub: false });
      expectResponse(await get('/interop/me', token({ sub: null })), 422, { msg: 'Missing claim: sub' });
    });

    it('with verifySub: false createAccessToken(42) makes a token whose identity is the number 42', async () => {
      start({ verifySub: false });
      expectResponse(await get('/interop/me', await createAccessToken(42)), 200, { identity: 42 });
    });

    it('by default createAccessToken(42) is a usage error', async () => {
      start();
      await assert.rejects(createAccessToken(42), JwtUsageError);
    });
  });

  describe('acceptUntypedTokens', () => {
    const untyped = (overrides: Record<string, unknown> = {}) => token({ type: undefined, fresh: undefined, ...overrides });

    it('by default a token without type is refused: 422 Missing claim: type', async () => {
      start();
      expectResponse(await get('/interop/me', untyped()), 422, { msg: 'Missing claim: type' });
    });

    it('with acceptUntypedTokens a token without type opens an access route', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get('/interop/me', untyped()), 200, { identity: 'alice' });
    });

    it('with acceptUntypedTokens an untyped token is refused on a refresh route', async () => {
      start({ acceptUntypedTokens: true });
      const res = await request(server!).post('/interop/refresh').set('Authorization', `Bearer ${untyped()}`);
      expectResponse(res, 422, { msg: 'Only refresh tokens are allowed' });
    });

    it('with acceptUntypedTokens an untyped token without fresh is refused on a fresh route', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get('/interop/fresh', untyped()), 401, { msg: 'Fresh token required' });
    });

    it('with acceptUntypedTokens a bad type is still refused', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get('/interop/me', untyped({ type: 'id' })), 422, { msg: "Invalid claim: type must be 'access' or 'refresh'" });
    });

    it('an untyped token without jti passes when revocation checks only refresh tokens', async () => {
      start({ acceptUntypedTokens: true, revocation: { store: new MemoryTokenStore(), checks: 'refresh' } });
      expectResponse(await get('/interop/me', untyped({ jti: undefined })), 200, { identity: 'alice' });
    });

    it("an untyped token without jti is refused where checks 'all' cover access tokens: 422 Missing claim: jti", async () => {
      start({ acceptUntypedTokens: true, revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      expectResponse(await get('/interop/me', untyped({ jti: undefined })), 422, { msg: 'Missing claim: jti' });
    });

    it('a typed token without jti is refused even with acceptUntypedTokens', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get('/interop/me', token({ jti: undefined })), 422, { msg: 'Missing claim: jti' });
    });

    it('an untyped token without exp is refused while access tokens expire here', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get('/interop/me', untyped({ exp: undefined })), 422, { msg: 'Missing claim: exp' });
    });

    it('an untyped token without exp passes when accessTokenExpires is false', async () => {
      start({ acceptUntypedTokens: true, accessTokenExpires: false });
      expectResponse(await get('/interop/me', untyped({ exp: undefined })), 200, { identity: 'alice' });
    });
  });

  describe('split audience and issuer, encodeNbf', () => {
    it('encodeAudience writes aud without requiring one: a token without aud still passes', async () => {
      start({ encodeAudience: 'billing' });
      const issued = await createAccessToken('alice');
      assert.equal((await decodeToken(issued)).aud, 'billing');
      expectResponse(await get('/interop/me', token()), 200, { identity: 'alice' });
    });

    it('decodeAudience requires the audience: a token for another one is refused', async () => {
      start({ decodeAudience: ['billing', 'shop'] });
      expectResponse(await get('/interop/me', token({ aud: 'admin' })), 422, { msg: "Audience doesn't match" });
    });

    it('decodeAudience accepts a token for one of its audiences', async () => {
      start({ decodeAudience: ['billing', 'shop'] });
      expectResponse(await get('/interop/me', token({ aud: 'shop' })), 200, { identity: 'alice' });
    });

    it('decodeAudience alone writes no aud into new tokens (which it then refuses)', async () => {
      start({ decodeAudience: 'billing' });
      const issued = await createAccessToken('alice');
      expectResponse(await get('/interop/me', issued), 422, { msg: 'Token is missing the "aud" claim' });
    });

    it('encodeIssuer writes iss; decodeIssuer refuses another issuer', async () => {
      start({ encodeIssuer: 'https://a.example', decodeIssuer: 'https://b.example' });
      const issued = await createAccessToken('alice');
      const written = JSON.parse(Buffer.from(issued.split('.')[1], 'base64url').toString('utf8'));
      assert.equal(written.iss, 'https://a.example');
      expectResponse(await get('/interop/me', issued), 422, { msg: 'Invalid issuer' });
    });

    it('decodeIssuer accepts its own issuer', async () => {
      start({ decodeIssuer: 'https://b.example' });
      expectResponse(await get('/interop/me', token({ iss: 'https://b.example' })), 200, { identity: 'alice' });
    });

    it('encodeNbf: false writes no nbf; the token passes', async () => {
      start({ encodeNbf: false });
      const issued = await createAccessToken('alice');
      assert.equal('nbf' in (await decodeToken(issued)), false);
      expectResponse(await get('/interop/me', issued), 200, { identity: 'alice' });
    });

    it('by default new tokens carry nbf', async () => {
      start();
      const claims = await decodeToken(await createRefreshToken('alice'));
      assert.equal(claims.nbf, claims.iat);
    });

    it('a token with nbf in the future is refused whatever encodeNbf says', async () => {
      start({ encodeNbf: false });
      expectResponse(await get('/interop/me', forge(HS256_HEADER, payload({ nbf: nowSeconds() + 60 }))), 422, { msg: 'Token not yet valid' });
    });
  });
});
